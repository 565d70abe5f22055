-- Probing at eom with an empty --replace-body file: the body is replaced
-- with nothing (one empty SMFIR_REPLBODY), not left as it was while the
-- report says it was replaced.
-- inspect-arg: --replace-body=@HERE@/probe-empty-body.txt
-- stderr: inspect: PROBING: inspect answers and changes mail as asked: --replace-body "@HERE@/probe-empty-body.txt"

dofile(lib)

run(function()
	local conn = connect()
	negotiate(conn, nil, nil)
	assert(mt.test_action(conn, SMFIF_CHGBODY))
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "empty body")
	step.eoh(conn)
	step.bodystring(conn, "old body\r\n")
	assert(mt.eom(conn) == nil)
	if not mt.eom_check(conn, MT_BODYCHANGE, "") then
		error("the body was not replaced with an empty one")
	end
	assert(mt.getreply(conn) == SMFIR_CONTINUE)
	mt.disconnect(conn)
end)
