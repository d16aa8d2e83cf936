-- wrk script for scripts/bench-api.sh: DescribeInstanceStatus of one instance id (BENCH_INSTANCE_ID), the same
-- request on every connection; counts answers that are not a 200 holding that id.
local id = os.getenv("BENCH_INSTANCE_ID")
local body = "Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true&InstanceId.1=" .. id
failures = 0
local threads = {}
-- moto routes by the credential scope of the Authorization header (it checks no signature); hive-health, started
-- without keys, ignores it.
local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, "
        .. "SignedHeaders=host, Signature=00",
}

function setup(thread)
    table.insert(threads, thread)
end

function request()
    return wrk.format("POST", "/", headers, body)
end

function response(status, headers, answer)
    if status ~= 200 or not answer:find("<instanceId>" .. id .. "</instanceId>", 1, true) then
        failures = failures + 1
    end
end

function done(summary, latency, requests)
    local failed = 0
    for _, thread in ipairs(threads) do failed = failed + thread:get("failures") end
    io.write(string.format("RESULT requests=%d seconds=%.3f listings=0 failures=%d p50_ms=%.2f p99_ms=%.2f\n",
        summary.requests, summary.duration / 1e6, failed + summary.errors.status,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
