"""botocore's own IMDS client against the emulator's metadata service.

boto3 changes the instance's options through the emulator's EC2 endpoint; botocore's
InstanceMetadataFetcher, pointed at the metadata listener through
AWS_EC2_METADATA_SERVICE_ENDPOINT (the session's ec2_metadata_service_endpoint),
fetches the instance id and the role credentials. With HttpTokens=required applied,
an IMDSv1 request (no token) is refused with 401 while botocore (IMDSv2) still works;
with the endpoint disabled, botocore gets nothing.

usage: imds_botocore.py http://127.0.0.1:API_PORT http://127.0.0.1:IMDS_PORT
"""
import sys
import time
import urllib.error
import urllib.request

import boto3
import botocore.session
from botocore.config import Config
from botocore.utils import InstanceMetadataFetcher

from common import AWS_KEY, AWS_SECRET, check

if len(sys.argv) != 3 or not all(a.startswith("http://127.0.0.1:") for a in sys.argv[1:]):
    sys.exit("usage: imds_botocore.py http://127.0.0.1:API_PORT http://127.0.0.1:IMDS_PORT")
API, IMDS = sys.argv[1], sys.argv[2]
ID = "i-0123456789abcdef0"

ec2 = boto3.session.Session(
    aws_access_key_id=AWS_KEY, aws_secret_access_key=AWS_SECRET, region_name="us-east-1"
).client("ec2", endpoint_url=API, config=Config(retries={"max_attempts": 1}))


def settle():
    for _ in range(50):
        d = ec2.describe_instances(InstanceIds=[ID])
        o = d["Reservations"][0]["Instances"][0]["MetadataOptions"]
        if o["State"] == "applied":
            return o
        time.sleep(0.1)
    sys.exit("FAILED: the change did not apply")


def fetcher():
    session = botocore.session.get_session()
    endpoint = session.get_config_variable("ec2_metadata_service_endpoint")
    check(endpoint == IMDS, f"AWS_EC2_METADATA_SERVICE_ENDPOINT reaches botocore: {endpoint}")
    return InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=endpoint)


def v1_status(path):
    try:
        with urllib.request.urlopen(IMDS + path, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def instance_id(f):
    token = f._fetch_metadata_token()
    check(token, "botocore obtained a session token (IMDSv2)")
    resp = f._get_request("/latest/meta-data/instance-id", None, token)
    return resp.text


r = ec2.modify_instance_metadata_options(InstanceId=ID, HttpTokens="required")
check(r["InstanceMetadataOptions"]["State"] == "pending", "modify answers pending")
o = settle()
check(o["HttpTokens"] == "required", "DescribeInstances shows required, applied")
check(v1_status("/latest/meta-data/instance-id") == 401, "an IMDSv1 request is refused with 401")

f = fetcher()
check(instance_id(f) == ID, "botocore fetches the instance id")
creds = f.retrieve_iam_role_credentials()
check(creds.get("role_name") == "imds-conform-role", f"botocore finds the role: {creds.get('role_name')}")
check(creds.get("access_key") == "ASIAIMDSCONFORMV2FAKE", "botocore gets the IMDSv2 role credentials")
check(creds.get("token") and creds.get("expiry_time"), "the credentials carry a token and an expiry")

ec2.modify_instance_metadata_options(InstanceId=ID, HttpEndpoint="disabled")
settle()
check(v1_status("/latest/meta-data/instance-id") == 403, "the endpoint turned off answers 403")
check(fetcher().retrieve_iam_role_credentials() == {}, "botocore gets no credentials with the endpoint off")
print("botocore imds: all ok")
