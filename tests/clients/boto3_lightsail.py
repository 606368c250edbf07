"""boto3 Lightsail against the emulator: update, read back pending then applied,
errors, and a wrong secret rejected."""
import time

from common import AWS_SECRET, boto3_client, check, endpoint, error_code

URL = endpoint()


def client(secret=AWS_SECRET, region="us-east-1"):
    return boto3_client("lightsail", URL, secret, region)


ls = client()
op = ls.update_instance_metadata_options(instanceName="web-1", httpTokens="required", httpPutResponseHopLimit=3)["operation"]
check(op["resourceName"] == "web-1" and op["operationType"] == "UpdateInstanceMetadataOptions"
      and op["resourceType"] == "Instance", f"update answers an operation: {op}")
o = ls.get_instance(instanceName="web-1")["instance"]["metadataOptions"]
check(o["state"] == "pending" and o["httpTokens"] == "required" and o["httpPutResponseHopLimit"] == 3,
      f"get_instance shows pending: {o}")
time.sleep(0.6)
o = ls.get_instance(instanceName="web-1")["instance"]["metadataOptions"]
check(o["state"] == "applied", f"get_instance shows applied after the delay: {o}")
names = [i["name"] for i in ls.get_instances()["instances"]]
check("web-1" in names, f"get_instances lists web-1: {names}")

check(error_code(ls.update_instance_metadata_options, instanceName="web-9", httpTokens="required")
      == ("NotFoundException", 404), "unknown instance is NotFoundException 404")
check(error_code(ls.update_instance_metadata_options, instanceName="web-1", httpProtocolIpv6="enabled")
      == ("InvalidInputException", 400), "httpProtocolIpv6 outside eu-north-1 is InvalidInputException")
check(error_code(client(region="eu-north-1").update_instance_metadata_options,
                 instanceName="nordic-1", httpProtocolIpv6="enabled") is None,
      "httpProtocolIpv6 in eu-north-1 is accepted")
check(error_code(client("wrong-secret").get_instances)
      == ("InvalidSignatureException", 400), "a wrong secret is InvalidSignatureException 400")
print("boto3 lightsail: all ok")
