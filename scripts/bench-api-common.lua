-- What scripts/bench-api.lua and scripts/bench-api-one.lua share (loaded with dofile from the repository's root,
-- where scripts/bench-api.sh runs wrk).
threads = {}
-- moto routes by the credential scope of the Authorization header (it checks no signature); hive-health, started
-- without keys, ignores it.
headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, "
        .. "SignedHeaders=host, Signature=00",
}

function setup(thread)
    table.insert(threads, thread)
end

-- The sum of a global counter over every thread.
function total(name)
    local sum = 0
    for _, thread in ipairs(threads) do sum = sum + thread:get(name) end
    return sum
end

-- The line scripts/bench-api.sh reads. `failures` are the answers the scripts refused (a status other than 200
-- among them); wrk's own socket errors are added, its count of bad statuses is not (it would count those twice).
function report(summary, latency, listings, failures)
    local e = summary.errors
    io.write(string.format("RESULT requests=%d seconds=%.3f listings=%d failures=%d p50_ms=%.2f p99_ms=%.2f\n",
        summary.requests, summary.duration / 1e6, listings, failures + e.connect + e.read + e.write + e.timeout,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
