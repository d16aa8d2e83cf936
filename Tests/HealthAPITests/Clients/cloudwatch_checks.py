"""CloudWatch through boto3 in each protocol botocore can speak: its default (smithy-rpc-v2-cbor), and json and query
by loading a copy of botocore's model that names only that protocol. Prints one JSON document of what each saw.

usage: cloudwatch_checks.py ENDPOINT INSTANCE_ID START_EPOCH END_EPOCH ACCESS_KEY SECRET WORKDIR
"""
import datetime
import gzip
import json
import os
import sys

import boto3
import botocore.credentials
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, instance, start, end, key, secret, workdir = sys.argv[1:8]
start = datetime.datetime.fromtimestamp(int(start), datetime.timezone.utc)
end = datetime.datetime.fromtimestamp(int(end), datetime.timezone.utc)


def model_dir(protocol):
    """A data directory whose cloudwatch model speaks only `protocol`."""
    base = os.path.join(os.path.dirname(botocore.__file__), "data", "cloudwatch", "2010-08-01")
    with gzip.open(os.path.join(base, "service-2.json.gz")) as source:
        model = json.load(source)
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    target = os.path.join(workdir, protocol, "cloudwatch", "2010-08-01")
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "service-2.json"), "w") as out:
        json.dump(model, out)
    return os.path.join(workdir, protocol)


def client(protocol):
    session = botocore.session.Session()
    if protocol != "default":
        loader = botocore.loaders.Loader(extra_search_paths=[model_dir(protocol)])
        session.register_component("data_loader", loader)
    return boto3.Session(botocore_session=session).client(
        "cloudwatch", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


results = {}
for protocol in ["default", "json", "query"]:
    cw = client(protocol)
    seen = {"protocol": cw.meta.service_model.protocol}
    stats = cw.get_metric_statistics(
        Namespace="AWS/EC2", MetricName="StatusCheckFailed_System",
        Dimensions=[{"Name": "InstanceId", "Value": instance}], StartTime=start, EndTime=end, Period=300,
        Statistics=["Maximum", "SampleCount", "Average"])
    seen["stats"] = [
        {"t": int(p["Timestamp"].timestamp()), "max": p["Maximum"], "n": p["SampleCount"], "avg": p["Average"],
         "unit": p["Unit"]}
        for p in sorted(stats["Datapoints"], key=lambda p: p["Timestamp"])]
    data = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "failed", "MetricStat": {"Metric": {
                "Namespace": "AWS/EC2", "MetricName": "StatusCheckFailed",
                "Dimensions": [{"Name": "InstanceId", "Value": instance}]}, "Period": 60, "Stat": "Maximum"}},
            {"Id": "missing", "Label": "nothing", "MetricStat": {"Metric": {
                "Namespace": "AWS/EC2", "MetricName": "StatusCheckFailed",
                "Dimensions": [{"Name": "InstanceId", "Value": "i-0000000000000dead"}]}, "Period": 60,
                "Stat": "Sum"}},
        ],
        StartTime=start, EndTime=end, ScanBy="TimestampAscending")
    seen["data"] = {
        r["Id"]: {"label": r["Label"], "values": r["Values"], "times": [int(t.timestamp()) for t in r["Timestamps"]],
                  "status": r["StatusCode"]}
        for r in data["MetricDataResults"]}
    listed = []
    for page in cw.get_paginator("list_metrics").paginate(Namespace="AWS/EC2"):
        listed += [(m["MetricName"], m["Dimensions"][0]["Value"]) for m in page["Metrics"]]
    seen["listed"] = len(listed)
    seen["listed_one"] = len(cw.list_metrics(
        Namespace="AWS/EC2", Dimensions=[{"Name": "InstanceId", "Value": instance}])["Metrics"])
    try:
        cw.get_metric_statistics(
            Namespace="AWS/EC2", MetricName="StatusCheckFailed", StartTime=start, EndTime=end, Period=61,
            Statistics=["Maximum"])
        seen["error"] = None
    except ClientError as error:
        seen["error"] = error.response["Error"]["Code"]
        seen["error_status"] = error.response["ResponseMetadata"]["HTTPStatusCode"]
    bad = client(protocol)
    bad._request_signer._credentials = botocore.credentials.Credentials(key, "wrong-secret")
    try:
        bad.list_metrics()
        seen["bad_signature"] = None
    except ClientError as error:
        seen["bad_signature"] = error.response["Error"]["Code"]
    results[protocol] = seen
print(json.dumps(results, sort_keys=True))
