"""botocore's S3SigV4Auth as an independent signer for ObjectStorageTests.

Reads a JSON list of requests from stdin: {method, host, path (unencoded key path),
query [[name, value]], headers [[name, value]], body (text), region, access_key,
secret_key, token (or null), time (epoch seconds)}. botocore encodes the path and query
itself (botocore.utils.percent_encode, as its S3 serializer does) and signs; prints a
JSON list of {url, canonical_request, authorization}.
"""
import datetime
import json
import sys
from unittest import mock

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode


def sign(spec):
    path = percent_encode(spec["path"], safe="/~")
    query = "&".join(f"{percent_encode(n)}={percent_encode(v)}" for n, v in spec["query"])
    url = f"http://{spec['host']}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=spec["method"], url=url, data=spec["body"].encode("utf-8"))
    for name, value in spec["headers"]:
        request.headers[name] = value
    auth = S3SigV4Auth(Credentials(spec["access_key"], spec["secret_key"], spec.get("token")), "s3", spec["region"])
    now = datetime.datetime.fromtimestamp(spec["time"], datetime.timezone.utc).replace(tzinfo=None)
    seen = []
    original = auth.canonical_request
    auth.canonical_request = lambda r: seen.append(original(r)) or seen[-1]
    with mock.patch("botocore.auth.get_current_datetime", return_value=now):
        auth.add_auth(request)
    return {"url": url, "canonical_request": seen[-1], "authorization": request.headers["Authorization"]}


print(json.dumps([sign(spec) for spec in json.load(sys.stdin)]))
