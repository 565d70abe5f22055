-- inspect-args: --no-reply yes
-- What the MTA was told, for MTAs of another milter protocol version.
-- inspect asks libmilter for no reply at every stage but eom
-- (--no-reply yes).  Session 1 is an MTA of version 2 (Postfix
-- with milter_protocol = 2, Sendmail before 8.14), which knows no
-- no-reply steps: libmilter withholds them from its answer, so that the
-- wire says none (the steps below check it, and that libmilter answers
-- every stage with continue itself), and the report's answered steps
-- are 0 with what inspect asked libmilter for beside them.  Session 2 is
-- an MTA of a version after libmilter's 6: libmilter answers with its
-- own, which the report shows beside the MTA's, and the steps as asked.

dofile(lib)

-- An MTA of version 2 is told no no-reply step, whatever was asked.
local function check_no_reply(conn)
	for _, bit in ipairs({ SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL,
	    SMFIP_NR_RCPT, SMFIP_NR_DATA, SMFIP_NR_UNKN, SMFIP_NR_HDR,
	    SMFIP_NR_EOH, SMFIP_NR_BODY }) do
		if mt.test_option(conn, bit) then
			error(string.format("no-reply bit 0x%x on the wire", bit))
		end
	end
end

run(function()
	-- SMFI_V2_PROT and SMFI_V2_ACTS: all a version 2 MTA can offer.
	local conn = connect()
	local err = mt.negotiate(conn, 2, 0x7f, 0x3f)
	if err ~= nil then
		error("negotiate: " .. err)
	end
	check_no_reply(conn)
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "from an old MTA")
	step.eoh(conn)
	step.bodystring(conn, "hello\r\n")
	step.eom(conn)
	mt.disconnect(conn)

	conn = connect()
	err = mt.negotiate(conn, 7, nil, nil)
	if err ~= nil then
		error("negotiate: " .. err)
	end
	mt.disconnect(conn)
end)
