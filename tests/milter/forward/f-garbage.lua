-- A milter behind that negotiates, then answers connect with bytes that
-- are no packet ("HELLO WORLD\r\n", a length of 1.2 GB): inspect A
-- answers --forward-default (reject) at once, and from then on; its
-- report and log say why; the next session, with the peer behaving,
-- goes through.
-- downstream: peer garbage,ok
-- forward-arg: --forward-default=reject
-- check-arg: --default=reject
-- check-arg: --failure=1,connect,2,a packet of 1212501068 bytes
-- log: the milter at unix:.*b\.sock: the milter sent a packet of 1212501068 bytes; answering reject

dofile(lib)

run(function()
	mt.set_timeout(3)
	local conn = session()
	expect(SMFIR_REJECT, "conninfo", conn, "client.example", "192.0.2.1")
	mt.disconnect(conn)

	conn = session()
	envelope(conn)
	message(conn)
	mt.disconnect(conn)
end)
