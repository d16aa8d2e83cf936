-- wrk script for scripts/bench-api.sh: every connection (one per thread) pages through DescribeInstanceStatus with
-- MaxResults and NextToken, and starts over after the last page; `listings` counts complete paginations.
dofile("scripts/bench-api-common.lua")
local base = "Action=DescribeInstanceStatus&Version=2016-11-15&IncludeAllInstances=true&MaxResults=1000"
local token = nil
listings = 0
failures = 0

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
    report(summary, latency, total("listings"), total("failures"))
end
