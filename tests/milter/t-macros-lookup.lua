-- --macro-source lookup, the fallback: the listed names are looked up and
-- those new or changed since the last look-up are shown, an approximation
-- of what each stage sent: client_addr and {x_site}, in no list, are never
-- seen, and i sent again unchanged with EOH and EOM does not show
-- (macros-session.lua).
-- inspect-args: --macro-source lookup --show-macros all

dofile(lib)
dofile(lib:match("(.*/)") .. "macros-session.lua")
