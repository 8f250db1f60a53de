"""A moto S3 server on 127.0.0.1 for the Swift tests (Tests/Support/TestMoto).

Binds port 0 (the kernel picks a free port, so no collision with a parallel test),
makes an IAM user with full access and an access key while authentication is still
off, then turns moto's signature checks on for every later request (moto checks
signatures only after INITIAL_NO_AUTH_ACTION_COUNT requests; it is set to 0 here).
Prints one JSON line {"port", "access_key", "secret_key"} and serves until its
standard input closes, which happens when the test process ends in any way, or
until MAX_SECONDS pass.

Usage: moto_fixture.py [CERT KEY CA]: with them it serves HTTPS with that certificate
(and trusts CA for its own setup requests).
"""
import json
import os
import sys
import threading

MAX_SECONDS = 3600

import boto3
from moto import settings
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


def main(argv):
    tls = (argv[0], argv[1]) if len(argv) >= 3 else None
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", verify=argv[2] if tls else None,
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="archiverelay")
    iam.put_user_policy(UserName="archiverelay", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }))
    key = iam.create_access_key(UserName="archiverelay")["AccessKey"]
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    print(json.dumps({"port": port, "access_key": key["AccessKeyId"],
                      "secret_key": key["SecretAccessKey"]}), flush=True)
    threading.Timer(MAX_SECONDS, lambda: os._exit(0)).start()
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
