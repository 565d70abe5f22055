-- The default report: each event shows exactly the macros sent with its
-- own command, every name as the MTA wrote it and in its order, a value
-- sent again at the stage that sent it again; a repeated stage without a
-- packet, header, body and close show none (macros-session.lua).

dofile(lib)
dofile(lib:match("(.*/)") .. "macros-session.lua")
