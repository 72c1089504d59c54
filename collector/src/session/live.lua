-- The real-time report of one site in one round trip: the site's counts, then every page and group seen in
-- the window with its count. Ordering and capping happen in the caller, the same code for every store.
--
-- KEYS[1]  presence, all visitors          ff:live:{site}
-- KEYS[2]  presence, identified visitors   ff:livei:{site}
-- KEYS[3]  index of live pages             ff:livepages:{site}
-- KEYS[4]  index of live groups            ff:livegroups:{site}
-- ARGV[1]  window start (ms, exclusive)    ARGV[2]  most names read from each index
--
-- Answer: {all, identified, n_pages, page, count, ..., n_groups, group, all, identified, ...}
-- Page and group sets are named from KEYS[1] and KEYS[2]; they carry the same `{site}` hash tag, so on Redis
-- Cluster they live in the script's slot. Each count is one ZCOUNT (O(log n)): 200 pages cost well under a
-- millisecond of Redis time. The indexes are read most recent first, so past the cap the least recently
-- active names are the ones left out.
local since = '(' .. ARGV[1]
local cap = tonumber(ARGV[2])
local out = {
  redis.call('ZCOUNT', KEYS[1], since, '+inf'),
  redis.call('ZCOUNT', KEYS[2], since, '+inf'),
}
local pages = redis.call('ZREVRANGEBYSCORE', KEYS[3], '+inf', since, 'LIMIT', 0, cap)
out[#out + 1] = #pages
for _, page in ipairs(pages) do
  out[#out + 1] = page
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1] .. ':page:' .. page, since, '+inf')
end
local groups = redis.call('ZREVRANGEBYSCORE', KEYS[4], '+inf', since, 'LIMIT', 0, cap)
out[#out + 1] = #groups
for _, group in ipairs(groups) do
  out[#out + 1] = group
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1] .. ':group:' .. group, since, '+inf')
  out[#out + 1] = redis.call('ZCOUNT', KEYS[2] .. ':group:' .. group, since, '+inf')
end
return out
