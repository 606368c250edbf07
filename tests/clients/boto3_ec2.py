"""boto3 EC2 against the emulator: modify, read back pending then applied, errors,
DryRun, and a wrong secret rejected."""
import time

from common import AWS_SECRET, boto3_client, check, endpoint, error_code

URL = endpoint()
ID = "i-0123456789abcdef0"


def client(secret=AWS_SECRET):
    return boto3_client("ec2", URL, secret)


ec2 = client()
r = ec2.modify_instance_metadata_options(
    InstanceId=ID, HttpTokens="required", HttpPutResponseHopLimit=2, HttpEndpoint="enabled"
)
o = r["InstanceMetadataOptions"]
check(r["InstanceId"] == ID, "modify answers the instance id")
check(o["State"] == "pending" and o["HttpTokens"] == "required" and o["HttpPutResponseHopLimit"] == 2,
      f"modify answers pending with the new values: {o}")


def options():
    d = ec2.describe_instances(InstanceIds=[ID])
    return d["Reservations"][0]["Instances"][0]["MetadataOptions"]


check(options()["State"] == "pending", "describe shows pending right after")
time.sleep(0.6)
o = options()
check(o["State"] == "applied" and o["HttpTokens"] == "required" and o["HttpPutResponseHopLimit"] == 2,
      f"describe shows applied after the delay: {o}")
inst = ec2.describe_instances()["Reservations"][0]["Instances"][0]
check(inst["State"]["Name"] in ("running", "stopped") and "Placement" in inst, "describe parses fully")

check(error_code(ec2.modify_instance_metadata_options, InstanceId="i-0123456789abcdef9", HttpTokens="required")
      == ("InvalidInstanceID.NotFound", 400), "unknown instance is InvalidInstanceID.NotFound 400")
check(error_code(ec2.modify_instance_metadata_options, InstanceId="bogus")
      == ("InvalidInstanceID.Malformed", 400), "malformed id is InvalidInstanceID.Malformed 400")
check(error_code(ec2.modify_instance_metadata_options, InstanceId=ID, HttpPutResponseHopLimit=65)
      == ("InvalidParameterValue", 400), "hop limit 65 is InvalidParameterValue")
check(error_code(ec2.modify_instance_metadata_options, InstanceId=ID, HttpTokens="optional", DryRun=True)
      == ("DryRunOperation", 412), "DryRun answers DryRunOperation 412")
check(options()["HttpTokens"] == "required", "DryRun changed nothing")
check(error_code(client("wrong-secret").describe_instances)
      == ("SignatureDoesNotMatch", 403), "a wrong secret is SignatureDoesNotMatch 403")
print("boto3 ec2: all ok")
