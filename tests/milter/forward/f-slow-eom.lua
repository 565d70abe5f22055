-- The milter behind sleeps 5 s at eom (inspect B's --delay); inspect A
-- gives up after --forward-eom-timeout 0.7 s and answers
-- --forward-default (accept: continue to the MTA) well before
-- miltertest's 3 s; its report and log say why; the next session, which
-- ends before eom, goes through.
-- downstream-arg: --delay=eom=5
-- forward-arg: --forward-eom-timeout=0.7
-- forward-arg: --forward-default=accept
-- check-arg: --default=accept
-- check-arg: --failure=1,eom,2,0\.700 s
-- log: the milter at unix:.*b\.sock: .*0\.700 s.*; answering accept

dofile(lib)

run(function()
	mt.set_timeout(3)
	local conn = session()
	envelope(conn)
	message(conn)
	mt.disconnect(conn)

	conn = session()
	envelope(conn)
	mt.disconnect(conn)
end)
