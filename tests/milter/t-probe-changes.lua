-- Probing at eom: every change asked for is made through libmilter, in
-- the order given, and the report lists each one.  The negotiation asks
-- for exactly the actions they need (ADDRCPT_PAR for a recipient with
-- ESMTP arguments).  Session 1 negotiates HDR_LEADSPC, so inspect puts
-- the space after the colon itself; session 2 does not, and the MTA
-- adds it.  Session 3 offers no QUARANTINE: the negotiation and the log
-- say it is missing, the quarantine is not made, and the session goes on.
-- inspect-arg: --add-header=X-Probe: yes
-- inspect-arg: --insert-header=1 X-First: inserted
-- inspect-arg: --change-header=Subject[1]: changed
-- inspect-arg: --change-header=X-Old:
-- inspect-arg: --change-from=<new@example.org>
-- inspect-arg: --add-rcpt=<added@example.net>
-- inspect-arg: --add-rcpt=<par@example.net> NOTIFY=NEVER
-- inspect-arg: --delete-rcpt=<gone@example.net>
-- inspect-arg: --replace-body=@HERE@/probe-body.txt
-- inspect-arg: --quarantine=probe holds it
-- inspect-arg: --reply=eom=554 5.7.0 probe says no
-- stderr: inspect: PROBING: inspect answers and changes mail as asked: --reply "eom=554 5.7.0 probe says no" --add-header "X-Probe: yes" --insert-header "1 X-First: inserted" --change-header "Subject[1]: changed" --change-header "X-Old:" --change-from "<new@example.org>" --add-rcpt "<added@example.net>" --add-rcpt "<par@example.net> NOTIFY=NEVER" --delete-rcpt "<gone@example.net>" --replace-body "@HERE@/probe-body.txt" --quarantine "probe holds it"
-- stderr: inspect: the MTA does not offer every action asked for (SMFIF_QUARANTINE missing): those changes are not made

dofile(lib)

local function check(conn, ...)
	if not mt.eom_check(conn, ...) then
		error("eom_check failed: " .. table.concat({ ... }, " ", 2), 2)
	end
end

local function message(conn, steps, actions)
	negotiate(conn, steps, actions)
	assert(mt.conninfo(conn, "client.example", "192.0.2.1") == nil)
	assert(mt.helo(conn, "client.example") == nil)
	assert(mt.mailfrom(conn, "<sender@example.org>") == nil)
	assert(mt.rcptto(conn, "<gone@example.net>") == nil)
	assert(mt.data(conn) == nil)
	assert(mt.header(conn, "Subject", "original") == nil)
	assert(mt.header(conn, "X-Old", "old") == nil)
	assert(mt.eoh(conn) == nil)
	assert(mt.bodystring(conn, "old body\r\n") == nil)
	assert(mt.eom(conn) == nil)
end

run(function()
	local conn = connect()
	message(conn, nil, nil)
	assert(mt.test_option(conn, SMFIP_HDR_LEADSPC))
	assert(mt.test_action(conn, SMFIF_ADDHDRS))
	assert(mt.test_action(conn, SMFIF_ADDRCPT_PAR))
	assert(not mt.test_action(conn, SMFIF_SETSYMLIST))
	check(conn, MT_HDRADD, "X-Probe", " yes")
	check(conn, MT_HDRINSERT, "X-First", " inserted", 1)
	check(conn, MT_HDRCHANGE, "Subject", " changed")
	check(conn, MT_HDRDELETE, "X-Old")
	check(conn, MT_RCPTADD, "<added@example.net>")
	check(conn, MT_RCPTDELETE, "<gone@example.net>")
	check(conn, MT_BODYCHANGE, "The body\r\nis replaced.\r\n")
	check(conn, MT_QUARANTINE, "probe holds it")
	check(conn, MT_SMTPREPLY, "554", "5.7.0", "probe says no")
	assert(mt.getreply(conn) == SMFIR_REPLYCODE)
	mt.disconnect(conn)

	conn = connect()
	message(conn, SMFIP_SKIP | SMFIP_RCPT_REJ, 0x1ff)
	assert(not mt.test_option(conn, SMFIP_HDR_LEADSPC))
	check(conn, MT_HDRADD, "X-Probe", "yes")
	check(conn, MT_HDRCHANGE, "Subject", "changed")
	mt.disconnect(conn)

	conn = connect()
	message(conn, nil, 0x1ff & ~SMFIF_QUARANTINE)
	assert(not mt.test_action(conn, SMFIF_QUARANTINE))
	check(conn, MT_HDRADD, "X-Probe", " yes")
	assert(not mt.eom_check(conn, MT_QUARANTINE, "probe holds it"))
	check(conn, MT_SMTPREPLY, "554", "5.7.0", "probe says no")
	mt.disconnect(conn)
end)
