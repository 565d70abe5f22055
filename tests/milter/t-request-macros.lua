-- --request-macros: an MTA that offers SMFIF_SETSYMLIST (miltertest's
-- default offer) gets it in the answered actions, along with the macro
-- lists (which miltertest ignores).  Two more sessions from an MTA that
-- offers every action but that one get no actions; inspect says so once
-- on standard error, and still shows the macros it is sent.
-- inspect-args: --request-macros --macros j,{client_addr}
-- stderr: inspect: the MTA does not offer SMFIF_SETSYMLIST: the macros cannot be requested, only looked up

dofile(lib)

-- Every action of SMFI_CURR_ACTS but SMFIF_SETSYMLIST.
local no_symlist = SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT |
    SMFIF_DELRCPT | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_CHGFROM |
    SMFIF_ADDRCPT_PAR

run(function()
	local conn = connect()
	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example")
	step.conninfo(conn, "client.example", "192.0.2.1")
	mt.disconnect(conn)

	for _ = 1, 2 do
		conn = connect()
		negotiate(conn, SMFIP_RCPT_REJ | SMFIP_HDR_LEADSPC, no_symlist)
		mt.macro(conn, SMFIC_CONNECT, "j", "mx.example",
		    "{client_addr}", "192.0.2.1")
		step.conninfo(conn, "client.example", "192.0.2.1")
		mt.disconnect(conn)
	end
end)
