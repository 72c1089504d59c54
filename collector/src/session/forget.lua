-- Drops the presence of a deleted site in one round trip: the site's sets, every page and group set its
-- indexes name, and the indexes. Its session hashes are deleted by the caller (SCAN), as no index lists them.
--
-- KEYS[1]  presence, all visitors          ff:live:{site}
-- KEYS[2]  presence, identified visitors   ff:livei:{site}
-- KEYS[3]  index of live pages             ff:livepages:{site}
-- KEYS[4]  index of live groups            ff:livegroups:{site}
--
-- Page and group sets are named from KEYS[1] and KEYS[2] as in touch.lua; they carry the same `{site}` hash
-- tag, so on Redis Cluster they live in the script's slot. A name already trimmed from an index belongs to a
-- set that only holds members older than the presence window and expires within two windows by itself.
-- UNLINK frees the memory off Redis's main thread. Returns the number of keys removed.
local removed = 0
local function drop(key)
  removed = removed + redis.call('UNLINK', key)
end
for _, kind in ipairs({{KEYS[3], ':page:'}, {KEYS[4], ':group:'}}) do
  for _, name in ipairs(redis.call('ZRANGE', kind[1], 0, -1)) do
    drop(KEYS[1] .. kind[2] .. name)
    drop(KEYS[2] .. kind[2] .. name)
  end
end
for i = 1, 4 do
  drop(KEYS[i])
end
return removed
