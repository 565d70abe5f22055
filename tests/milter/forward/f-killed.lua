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
	local conn = session()
	envelope(conn)
	ask("kill")
	expect(SMFIR_REJECT, "data", conn)
	mt.disconnect(conn)

	ask("start")
	conn = session()
	envelope(conn)
	message(conn)
	mt.disconnect(conn)
end)
