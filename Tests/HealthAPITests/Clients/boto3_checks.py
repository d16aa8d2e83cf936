"""Drives the hive-health EC2 API with boto3: pagination, every filter, every error code, signing, presigning.

Usage: boto3_checks.py ENDPOINT FIXTURE.json MODE [ACCESS_KEY SECRET]
MODE is "signed" (the server has keys: requests are signed, unsigned ones fail) or "unsigned" (no keys).
Prints one JSON line: {"checks": N, "failures": [...]} and exits 1 when anything failed.
"""
import fnmatch
import json
import sys
import urllib.error
import urllib.request

import boto3
import botocore
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, fixture_path, mode = sys.argv[1:4]
access_key, secret = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else ("AKIDEXAMPLE", "dummy-secret")
instances = json.load(open(fixture_path))["instances"]
by_id = {i["id"]: i for i in instances}
all_ids = sorted(by_id)
running_ids = [i for i in all_ids if by_id[i]["state_name"] == "running"]

checks = 0
failures = []


def check(name, condition, detail=""):
    global checks
    checks += 1
    if not condition:
        failures.append(f"{name}: {detail}")


def client(signed=True, secret_key=None):
    config = Config(region_name="us-east-1", retries={"max_attempts": 1, "mode": "standard"},
                    connect_timeout=10, read_timeout=60)
    if not signed:
        config = config.merge(Config(signature_version=UNSIGNED))
    return boto3.session.Session().client(
        "ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=access_key,
        aws_secret_access_key=secret_key or secret, config=config)


ec2 = client(signed=(mode == "signed"))


def paginate(page_size=1000, **kwargs):
    paginator = ec2.get_paginator("describe_instance_status")
    ids, pages = [], 0
    for page in paginator.paginate(PaginationConfig={"PageSize": page_size}, **kwargs):
        pages += 1
        ids += [s["InstanceId"] for s in page["InstanceStatuses"]]
    return ids, pages


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


# Pagination: every instance exactly once, in id order, over pages of 1000; running only by default.
ids, pages = paginate(IncludeAllInstances=True)
check("pagination all", ids == all_ids, f"{len(ids)} ids of {len(all_ids)}")
check("pagination pages", pages == (len(all_ids) + 999) // 1000, f"{pages} pages")
ids, _ = paginate()
check("running only by default", ids == running_ids, f"{len(ids)} of {len(running_ids)}")
ids, pages = paginate(page_size=5, IncludeAllInstances=True, Filters=[
    {"Name": "availability-zone", "Values": ["us-east-1b"]}, {"Name": "system-status.status", "Values": ["impaired"]}])
expected = [i for i in all_ids if by_id[i]["az"] == "us-east-1b" and by_id[i]["system"]["status"] == "impaired"]
check("small pages with filters", ids == expected, f"{len(ids)} vs {len(expected)}")

# The shape of one item.
sample = next(i for i in running_ids if by_id[i]["system"]["status"] == "impaired" and by_id[i]["events"])
item = ec2.describe_instance_status(InstanceIds=[sample])["InstanceStatuses"][0]
check("item id", item["InstanceId"] == sample)
check("item az", item["AvailabilityZone"] == by_id[sample]["az"])
check("item state", item["InstanceState"] == {"Code": 16, "Name": "running"}, str(item["InstanceState"]))
check("item system", item["SystemStatus"]["Status"] == "impaired", str(item["SystemStatus"]))
details = item["SystemStatus"]["Details"][0]
check("item system details", details["Name"] == "reachability" and details["Status"] == "failed"
      and "ImpairedSince" in details, str(details))
check("item instance", item["InstanceStatus"]["Status"] == by_id[sample]["instance"]["status"])
check("item ebs", item["AttachedEbsStatus"]["Status"] == by_id[sample]["ebs"]["status"], str(item))
check("item events", item["Events"][0]["Code"] == "system-reboot" and "NotBefore" in item["Events"][0], str(item))


# Every filter of DescribeInstanceStatus in botocore's EC2 model, with and without wildcards.
def field(instance, name):
    if name == "availability-zone":
        return [instance["az"]]
    if name == "availability-zone-id":
        return [instance["az_id"]]
    if name == "operator.managed":
        return ["false"]
    if name == "operator.principal":
        return []
    if name == "instance-state-code":
        return [str(instance["state_code"])]
    if name == "instance-state-name":
        return [instance["state_name"]]
    category, _, part = name.partition(".")
    key = {"instance-status": "instance", "system-status": "system", "attached-ebs-status": "ebs"}.get(category)
    if key:
        value = instance[key][part]
        return [value] if value is not None else []
    if category == "event":
        keys = {"code": "code", "description": "description", "not-after": "not_after", "not-before": "not_before",
                "instance-event-id": "id", "not-before-deadline": "not_before_deadline"}
        return [e[keys[part]] for e in instance["events"] if e[keys[part]] is not None]
    raise ValueError(name)


event_sample = next(i for i in instances if i["events"])["events"][0]
deadline_sample = next(e for i in instances for e in i["events"] if e["not_before_deadline"])
filters = [
    ("availability-zone", ["us-east-1a"]), ("availability-zone", ["us-east-?c"]),
    ("availability-zone-id", ["use1-az2"]), ("availability-zone-id", ["use1-az*"]),
    ("operator.managed", ["false"]), ("event.not-before-deadline", [deadline_sample["not_before_deadline"]]),
    ("event.code", ["system-reboot"]), ("event.description", ["Recovery of *"]),
    ("event.not-after", [event_sample["not_after"]]), ("event.not-before", [event_sample["not_before"]]),
    ("instance-state-code", ["16"]), ("instance-state-code", ["0", "80"]), ("instance-state-name", ["stopped"]),
    ("instance-state-name", ["p*"]), ("instance-status.reachability", ["failed"]),
    ("instance-status.reachability", ["initializing", "insufficient-data"]),
    ("instance-status.status", ["impaired"]), ("instance-status.status", ["*data"]),
    ("system-status.reachability", ["passed"]), ("system-status.status", ["impaired"]),
    ("system-status.status", ["not-applicable"]), ("attached-ebs-status.status", ["impaired"]),
    ("attached-ebs-status.status", ["not-applicable"]),
]
for name, values in filters:
    expected = [i for i in all_ids if any(fnmatch.fnmatchcase(f, v) for f in field(by_id[i], name) for v in values)]
    ids, _ = paginate(IncludeAllInstances=True, Filters=[{"Name": name, "Values": values}])
    check(f"filter {name}={values}", ids == expected, f"{len(ids)} ids, expected {len(expected)}")
    check(f"filter {name}={values} matches something", len(expected) > 0)

# Filters that match nothing here (no instance is managed by a service provider) are still accepted.
for name, values in [("operator.managed", ["true"]), ("operator.principal", ["*"])]:
    ids, _ = paginate(IncludeAllInstances=True, IncludeManagedResources=True,
                      Filters=[{"Name": name, "Values": values}])
    check(f"filter {name}={values} matches nothing", ids == [], str(ids[:5]))

# Every filter name of the model is accepted.
model_filters = set()
for line in ec2.meta.service_model.operation_model("DescribeInstanceStatus").input_shape.members["Filters"] \
        .documentation.split("<code>"):
    name = line.split("</code>")[0]
    if line.startswith(name + "</code> - "):
        model_filters.add(name)
check("the model's filters are known", len(model_filters) >= 17, str(sorted(model_filters)))
for name in sorted(model_filters):
    try:
        ec2.describe_instance_status(IncludeAllInstances=True, MaxResults=5, Filters=[{"Name": name, "Values": ["x"]}])
    except Exception as error:
        check(f"model filter {name} accepted", False, str(error))
item = ec2.describe_instance_status(InstanceIds=[sample])["InstanceStatuses"][0]
check("item availability zone id", item.get("AvailabilityZoneId") == by_id[sample]["az_id"], str(item))
check("item operator", item.get("Operator") == {"Managed": False}, str(item))
deadline_item = next(i for i in instances if any(e["not_before_deadline"] for e in i["events"]))
shown = ec2.describe_instance_status(InstanceIds=[deadline_item["id"]], IncludeAllInstances=True)[
    "InstanceStatuses"][0]["Events"][0]
check("event NotBeforeDeadline", "NotBeforeDeadline" in shown, str(shown))

# Instance ids with filters, and ids of stopped instances (left out unless IncludeAllInstances).
some = all_ids[:40]
ids = [s["InstanceId"] for s in ec2.describe_instance_status(InstanceIds=some)["InstanceStatuses"]]
check("instance ids, running only", ids == [i for i in some if i in running_ids], str(ids))
ids = [s["InstanceId"] for s in ec2.describe_instance_status(InstanceIds=some, IncludeAllInstances=True,
                                                              Filters=[{"Name": "availability-zone",
                                                                        "Values": ["us-east-1a"]}])["InstanceStatuses"]]
check("instance ids with a filter", ids == [i for i in some if by_id[i]["az"] == "us-east-1a"], str(ids))

# Every error code, as a ClientError with AWS's code and HTTP status.
describe = ec2.describe_instance_status
errors = [
    ("InvalidParameterCombination", 400, describe, {"InstanceIds": [all_ids[0]], "MaxResults": 5}),
    ("InvalidParameterValue", 400, describe, {"MaxResults": 4}),
    ("InvalidParameterValue", 400, describe, {"MaxResults": 1001}),
    ("InvalidParameterValue", 400, describe, {"Filters": [{"Name": "no-such-filter", "Values": ["x"]}]}),
    ("InvalidParameterValue", 400, describe, {"NextToken": "garbage", "MaxResults": 5}),
    ("InvalidParameterValue", 400, describe, {"InstanceIds": [f"i-{n:017x}" for n in range(101)]}),
    ("InvalidInstanceID.Malformed", 400, describe, {"InstanceIds": ["vol-123"]}),
    ("InvalidInstanceID.NotFound", 400, describe, {"InstanceIds": ["i-0fffffffffffffff0"]}),
    ("DryRunOperation", 412, describe, {"DryRun": True}),
    ("MissingParameter", 400, ec2.report_instance_status, {"Instances": [running_ids[0]], "Status": "ok",
                                                            "ReasonCodes": []}),
    ("InvalidParameterValue", 400, ec2.report_instance_status, {"Instances": [running_ids[0]], "Status": "ok",
                                                                 "ReasonCodes": ["bogus"]}),
    ("InvalidInstanceID.NotFound", 400, ec2.report_instance_status, {
        "Instances": ["i-0fffffffffffffff0"], "Status": "impaired", "ReasonCodes": ["unresponsive"]}),
    ("InvalidParameterValue", 400, ec2.report_instance_status, {
        "Instances": [running_ids[0]], "Status": "impaired", "ReasonCodes": ["other"],
        "StartTime": "2026-01-02T00:00:00Z", "EndTime": "2026-01-01T00:00:00Z"}),
    ("DryRunOperation", 412, ec2.report_instance_status, {"Instances": [running_ids[0]], "Status": "ok",
                                                           "ReasonCodes": ["other"], "DryRun": True}),
    ("UnsupportedOperation", 400, ec2.describe_instances, {}),
]
for code, status, call, kwargs in errors:
    got, http = error_code(call, **kwargs)
    check(f"error {code} from {call.__name__}({kwargs})"[:160], (got, http) == (code, status), f"got {got} {http}")

# InvalidAction and MissingParameter (Version) need a raw request: botocore only sends real actions.
for body, code in [("Action=NoSuchAction&Version=2016-11-15", "InvalidAction"),
                   ("Action=DescribeInstanceStatus", "MissingParameter")]:
    if mode == "signed":
        break
    request = urllib.request.Request(endpoint + "/", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.urlopen(request, timeout=30)
        check(f"raw {code}", False, "answered 200")
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        check(f"raw {code}", f"<Code>{code}</Code>" in text and "<RequestID>" in text, text)

# ReportInstanceStatus is accepted.
response = ec2.report_instance_status(Instances=[running_ids[0]], Status="impaired", ReasonCodes=["unresponsive"],
                                      Description="boto3 says hello")
check("report accepted", response["ResponseMetadata"]["HTTPStatusCode"] == 200)

# Signing: unsigned and wrongly signed requests fail when keys are set; presigned URLs work.
if mode == "signed":
    got, http = error_code(client(signed=False).describe_instance_status)
    check("unsigned request refused", (got, http) == ("AuthFailure", 401), f"{got} {http}")
    got, http = error_code(client(secret_key="wrong-secret").describe_instance_status)
    check("bad signature refused", (got, http) == ("SignatureDoesNotMatch", 403), f"{got} {http}")
    unknown = boto3.session.Session().client(
        "ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="AKIDUNKNOWN",
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))
    got, http = error_code(unknown.describe_instance_status)
    check("unknown key refused", (got, http) == ("AuthFailure", 401), f"{got} {http}")
    url = ec2.generate_presigned_url("describe_instance_status",
                                     Params={"InstanceIds": [running_ids[1]]}, ExpiresIn=300, HttpMethod="GET")
    with urllib.request.urlopen(url, timeout=30) as answer:
        text = answer.read().decode()
        check("presigned URL", answer.status == 200 and running_ids[1] in text, text[:300])
    try:
        urllib.request.urlopen(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=30)
        check("tampered presigned URL", False, "answered 200")
    except urllib.error.HTTPError as error:
        check("tampered presigned URL", error.code == 403, str(error.code))

print(json.dumps({"checks": checks, "failures": failures}))
sys.exit(1 if failures else 0)
