-- Probing, in JSON, with no-reply on: the stages answered or delayed
-- keep their replies (no SMFIP_NR_HELO, NR_RCPT or NR_EOH), the others
-- go without; helo waits its delay of 1.5 s before it answers; the
-- report has each answer as "reply" and the changes at eom as
-- "modifications", and check-json.py takes them.
-- Over TCP, where --no-reply auto asks for no reply at every stage it
-- can (on a unix socket only at the content stages).
-- inspect-args: --no-reply auto --format json
-- socket: inet
-- inspect-arg: --delay=helo=1.5
-- inspect-arg: --reply=envrcpt/bad@=reject
-- inspect-arg: --reply=eoh=continue
-- inspect-arg: --add-header=X-Probe: yes
-- inspect-arg: --add-rcpt=<added@example.net>
-- check: check-json.py
-- stderr: inspect: PROBING: inspect answers and changes mail as asked: --reply "envrcpt/bad@=reject" --reply "eoh=continue" --delay helo=1.500 --add-header "X-Probe: yes" --add-rcpt "<added@example.net>"

dofile(lib)

run(function()
	local conn = connect()
	negotiate(conn, nil, nil)
	assert(mt.test_option(conn, SMFIP_NR_CONN))
	assert(mt.test_option(conn, SMFIP_NR_MAIL))
	assert(mt.test_option(conn, SMFIP_NR_HDR))
	assert(not mt.test_option(conn, SMFIP_NR_HELO))
	assert(not mt.test_option(conn, SMFIP_NR_RCPT))
	assert(not mt.test_option(conn, SMFIP_NR_EOH))
	assert(mt.test_action(conn, SMFIF_ADDHDRS))
	assert(mt.test_action(conn, SMFIF_ADDRCPT))
	assert(not mt.test_action(conn, SMFIF_ADDRCPT_PAR))
	assert(not mt.test_action(conn, SMFIF_CHGBODY))
	step.conninfo(conn, "client.example", "192.0.2.1")
	local before = os.time()
	step.helo(conn, "client.example")
	assert(os.time() - before >= 1, "helo was not delayed")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<good@example.net>")
	assert(mt.rcptto(conn, "<bad@example.net>") == nil)
	assert(mt.getreply(conn) == SMFIR_REJECT)
	step.data(conn)
	step.header(conn, "Subject", "json")
	step.eoh(conn)
	step.bodystring(conn, "body\r\n")
	step.eom(conn)
	assert(mt.eom_check(conn, MT_HDRADD, "X-Probe", " yes"))
	assert(mt.eom_check(conn, MT_RCPTADD, "<added@example.net>"))
	mt.disconnect(conn)
end)
