-- The milter behind is killed (SIGKILL) between envrcpt and data: inspect
-- A answers --forward-default (reject) at data, says why in the report
-- and the log; the MTA, rejected, goes on with a new session once the
-- milter is back, and that one goes through.
-- forward-arg: --forward-default=reject
-- check-arg: --default=reject
-- check-arg: --failure=1,data,2,hung up|cannot write|cannot read|reset
-- log: the milter at unix:.*b\.sock: .*(hung up|cannot write|cannot read).*; answering reject

dofile(lib)

run(function()
	mt.set_timeout(3)
	local conn = connect()
	negotiate(conn, nil, nil)
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	ask("kill")
	expect(SMFIR_REJECT, "data", conn)
	mt.disconnect(conn)

	ask("start")
	conn = connect()
	negotiate(conn, nil, nil)
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.eoh(conn)
	step.bodystring(conn, "body\r\n")
	step.eom(conn)
	mt.disconnect(conn)
end)
