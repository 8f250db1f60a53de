"""boto3 as the tests' independent view of a moto bucket (Tests/Support/TestMoto).

Usage: s3_oracle.py COMMAND BUCKET [KEY [VERSION]]; the endpoint and keys come from
MOTO_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Prints one JSON value.
  create-bucket BUCKET        a bucket with Object Lock enabled (so versioned)
  head BUCKET KEY [VERSION]   size, version, lock mode, retain-until (epoch s), legal hold
  get BUCKET KEY              the object's bytes, hex
  versions BUCKET             every version: key, version id
  list BUCKET [PREFIX]        every key's newest version: key, size, SHA-256 of its bytes (hex)
  delete BUCKET KEY VERSION   delete one version: "deleted" or the error code
"""
import hashlib
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError


def client():
    return boto3.client("s3", endpoint_url=os.environ["MOTO_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])


def main(argv):
    s3 = client()
    command, bucket, rest = argv[0], argv[1], argv[2:]
    if command == "create-bucket":
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        result = "created"
    elif command == "head":
        args = {"Bucket": bucket, "Key": rest[0]}
        if len(rest) > 1:
            args["VersionId"] = rest[1]
        head = s3.head_object(**args)
        until = head.get("ObjectLockRetainUntilDate")
        result = {"size": head["ContentLength"], "version": head.get("VersionId"),
                  "mode": head.get("ObjectLockMode"),
                  "until": int(until.timestamp()) if until else None,
                  "legal_hold": head.get("ObjectLockLegalHoldStatus")}
    elif command == "get":
        result = s3.get_object(Bucket=bucket, Key=rest[0])["Body"].read().hex()
    elif command == "versions":
        listing = s3.list_object_versions(Bucket=bucket)
        result = [{"key": v["Key"], "version": v["VersionId"]} for v in listing.get("Versions", [])]
    elif command == "list":
        result = []
        # Filtered here, not by Prefix: moto's signature check fails on an encoded "/" in it.
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                if rest and not item["Key"].startswith(rest[0]):
                    continue
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                result.append({"key": item["Key"], "size": item["Size"], "sha256": hashlib.sha256(body).hexdigest()})
    elif command == "delete":
        try:
            s3.delete_object(Bucket=bucket, Key=rest[0], VersionId=rest[1])
            result = "deleted"
        except ClientError as error:
            result = error.response["Error"]["Code"]
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
