-- --show-macros all: after the macros sent with the stage, every macro
-- visible at that point, each once, with the stage it came from: at data
-- {rcpt_addr} is DATA's one@, not the last RCPT's two@, as libmilter
-- looks later stages up first (macros-session.lua).
-- inspect-args: --show-macros all

dofile(lib)
dofile(lib:match("(.*/)") .. "macros-session.lua")
