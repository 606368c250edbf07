"""Run LocalStack's runtime (python -m localstack.runtime.main) bound to loopback.

LocalStack 4.14's default gateway server (twisted) ignores the host part of
GATEWAY_LISTEN for IPv4 and listens on every interface (its source:
`# TODO: interface = host?`). This wrapper gives twisted's IPv4 endpoint the host of
GATEWAY_LISTEN as its interface, then starts LocalStack unchanged otherwise.
(GATEWAY_SERVER=hypercorn would bind the host, but then the runtime hangs on SIGTERM.)
Used by scripts/lib/localstack.sh.
"""

import os
import runpy

from twisted.internet import endpoints

_HOST = os.environ.get("GATEWAY_LISTEN", "127.0.0.1:4566").split(",")[0].rsplit(":", 1)[0]


class _LoopbackTCP4ServerEndpoint(endpoints.TCP4ServerEndpoint):
    def __init__(self, reactor, port, backlog=50, interface=_HOST):
        super().__init__(reactor, port, backlog, interface)


endpoints.TCP4ServerEndpoint = _LoopbackTCP4ServerEndpoint
runpy.run_module("localstack.runtime.main", run_name="__main__", alter_sys=True)
