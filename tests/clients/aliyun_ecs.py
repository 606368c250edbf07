"""alibabacloud-ecs20140526 against the emulator, with both signature styles the SDK
uses (V3 ACS3-HMAC-SHA256 by default; V1 HMAC-SHA1 RPC with signature_algorithm
'v2'): modify, read back, documented errors, and a wrong secret rejected."""
import json

from alibabacloud_ecs20140526 import models
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi import models as om

from common import ALI_KEY, ALI_SECRET, check, endpoint

URL = endpoint()
HOSTPORT = URL[len("http://"):]
ID = "i-bp67acfmxaz1234abcd"


def client(algorithm, secret=ALI_SECRET):
    cfg = om.Config(access_key_id=ALI_KEY, access_key_secret=secret, endpoint=HOSTPORT,
                    protocol="http", region_id="cn-hangzhou")
    if algorithm:
        cfg.signature_algorithm = algorithm
    return Client(cfg)


def error_of(fn, req):
    try:
        fn(req)
    except Exception as e:  # the SDK raises its own exception types
        return getattr(e, "code", None), getattr(e, "statusCode", None) or (getattr(e, "data", None) or {}).get("statusCode")
    return None


for algorithm, hop in ((None, 2), ("v2", 3)):
    style = "V1 (signature_algorithm=v2)" if algorithm else "V3 (default)"
    c = client(algorithm)
    r = c.modify_instance_metadata_options(models.ModifyInstanceMetadataOptionsRequest(
        region_id="cn-hangzhou", instance_id=ID, http_endpoint="enabled", http_tokens="required",
        http_put_response_hop_limit=hop))
    check(r.status_code == 200 and r.body.request_id, f"{style}: modify answers a RequestId")
    d = c.describe_instances(models.DescribeInstancesRequest(region_id="cn-hangzhou", instance_ids=json.dumps([ID])))
    inst = d.body.instances.instance[0]
    o = inst.metadata_options
    check(d.body.total_count == 1 and inst.status == "Running", f"{style}: describe finds the instance")
    check(o.http_tokens == "required" and o.http_put_response_hop_limit == hop and o.http_endpoint == "enabled",
          f"{style}: describe shows the new options {o.to_map()}")
    bad = models.ModifyInstanceMetadataOptionsRequest(region_id="cn-hangzhou", instance_id=ID, http_endpoint="bogus")
    code = error_of(c.modify_instance_metadata_options, bad)
    check(code is not None and code[0] == "InvalidHttpEndpoint.NotSupported",
          f"{style}: bad HttpEndpoint is InvalidHttpEndpoint.NotSupported ({code})")
    missing = models.ModifyInstanceMetadataOptionsRequest(region_id="cn-hangzhou", instance_id="i-bp67acfmxaz0000none",
                                                          http_endpoint="enabled")
    code = error_of(c.modify_instance_metadata_options, missing)
    check(code is not None and code[0] == "InvalidInstanceId.NotFound", f"{style}: unknown instance ({code})")
    code = error_of(client(algorithm, "wrong-secret").describe_instances,
                    models.DescribeInstancesRequest(region_id="cn-hangzhou"))
    check(code is not None and code[0] == "SignatureDoesNotMatch", f"{style}: a wrong secret is refused ({code})")
print("alibabacloud ecs: all ok")
