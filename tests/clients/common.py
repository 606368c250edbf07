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
