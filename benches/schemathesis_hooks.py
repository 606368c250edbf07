"""Schemathesis hooks for the emulator's Lightsail endpoint (benches/compare.sh).

Loaded with SCHEMATHESIS_HOOKS=schemathesis_hooks (PYTHONPATH=benches). Two things
docs/openapi/lightsail-emulator.yaml cannot say:
  * the media type application/x-amz-json-1.1 is JSON (requests and answers);
  * every request is signed with AWS SigV4 (service `lightsail`). Schemathesis has no
    SigV4 support, so a `requests` auth object signs each prepared request — after the
    body is serialized, with botocore's SigV4Auth, the signer the AWS SDK itself uses.
    The emulator checks every signature; nothing is bypassed.
Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the emulator's defaults if
unset), region AWS_REGION (us-east-1).
"""
import json
import os

import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

schemathesis.serializer.alias("application/x-amz-json-1.1", "application/json")


@schemathesis.deserializer("application/x-amz-json-1.1")
def _amz_json(ctx, response):
    return json.loads(response.content)


_CREDS = Credentials(
    os.environ.get("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    os.environ.get("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
)
_REGION = os.environ.get("AWS_REGION", "us-east-1")


class SigV4(requests.auth.AuthBase):
    """Sign a prepared request with SigV4 (headers: X-Amz-Date, Authorization)."""

    def __call__(self, r):
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v for k, v in r.headers.items() if k.lower() != "authorization"}
        aws = AWSRequest(method=r.method, url=r.url, data=body, headers=headers)
        SigV4Auth(_CREDS, "lightsail", _REGION).add_auth(aws)
        for name in ("X-Amz-Date", "Authorization", "X-Amz-Security-Token"):
            if name in aws.headers:
                r.headers[name] = aws.headers[name]
        return r


schemathesis.auth.set_from_requests(SigV4())
