-- Count inside Redis: a counter for /metrics and its copy in the hour's KPI bucket, together
-- (handover/kpis.py reads the buckets). KPI_TTL is kpis.TTL_SECONDS (tests/unit/test_lua_registry.py).
local KPI_TTL = 694800
local function bump_hour(hour, field, by)
  redis.call('HINCRBYFLOAT', hour, field, by)
  redis.call('EXPIRE', hour, KPI_TTL)
end
local function bump(counters, hour, field, by)
  redis.call('HINCRBYFLOAT', counters, field, by)
  bump_hour(hour, field, by)
end
