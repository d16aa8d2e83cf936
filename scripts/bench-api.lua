-- wrk script for scripts/bench-api.sh: every connection (one per thread) pages through DescribeInstanceStatus with
-- MaxResults and NextToken, and starts over after the last page; `listings` counts complete paginations.
local base = "Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true&MaxResults=1000"
local token = nil
listings = 0
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
    local body = base
    if token then body = body .. "&NextToken=" .. token end
    return wrk.format("POST", "/", headers, body)
end

function response(status, headers, body)
    if status ~= 200 then
        failures = failures + 1
        token = nil
        return
    end
    -- The token closes the document: look for it in the last few hundred bytes, not across a page of 1,000 items
    -- (a pattern scan of a megabyte in Lua took as long as the server's answer).
    token = body:sub(-400):match("<nextToken>([^<]+)</nextToken>")
    if not token then listings = listings + 1 end
end

function done(summary, latency, requests)
    local total, failed = 0, 0
    for _, thread in ipairs(threads) do
        total = total + thread:get("listings")
        failed = failed + thread:get("failures")
    end
    io.write(string.format("RESULT requests=%d seconds=%.3f listings=%d failures=%d p50_ms=%.2f p99_ms=%.2f\n",
        summary.requests, summary.duration / 1e6, total, failed + summary.errors.status,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
