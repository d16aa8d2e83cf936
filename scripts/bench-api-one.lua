-- wrk script for scripts/bench-api.sh: DescribeInstanceStatus of one instance id (BENCH_INSTANCE_ID), the same
-- request on every connection; counts answers that are not a 200 holding that id.
dofile("scripts/bench-api-common.lua")
local id = os.getenv("BENCH_INSTANCE_ID")
local body = "Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true&InstanceId.1=" .. id
failures = 0

function request()
    return wrk.format("POST", "/", headers, body)
end

function response(status, headers, answer)
    if status ~= 200 or not answer:find("<instanceId>" .. id .. "</instanceId>", 1, true) then
        failures = failures + 1
    end
end

function done(summary, latency, requests)
    report(summary, latency, 0, total("failures"))
end
