"""Shared helpers for the real-client scripts: fail loudly, never reach a real cloud."""
import os
import sys

AWS_KEY = "AKIDEXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ALI_KEY = "testid"
ALI_SECRET = "testsecret"


def endpoint():
    if len(sys.argv) != 2 or not sys.argv[1].startswith("http://127.0.0.1:"):
        sys.exit("usage: script http://127.0.0.1:PORT  (loopback emulator only)")
    return sys.argv[1]


def check(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


def boto3_client(service, url, secret=AWS_SECRET, region="us-east-1"):
    """A boto3 client of `service` at the loopback emulator `url`, with the test key
    and no retries."""
    # Imported here: the Alibaba script uses this module without boto3.
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.session.Session(
        aws_access_key_id=AWS_KEY, aws_secret_access_key=secret, region_name=region
    ).client(service, endpoint_url=url, config=cfg)


def error_code(fn, **kw):
    """The (code, HTTP status) of the boto3 ClientError that `fn(**kw)` raises, None
    when it succeeds."""
    import botocore.exceptions

    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None
