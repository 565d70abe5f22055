-- inspect-args: --no-reply yes --format json
-- check: check-json.py
-- t-negotiate-old in JSON: "answered" is what libmilter told the MTA,
-- "asked" what inspect asked libmilter for, there only where the two
-- differ, and "answered_version" libmilter's version, there only where
-- it is not the MTA's.

dofile(lib)

run(function()
	local conn = connect()
	local err = mt.negotiate(conn, 2, 0x7f, 0x3f)
	if err ~= nil then
		error("negotiate: " .. err)
	end
	assert(not mt.test_option(conn, SMFIP_NR_CONN))
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	mt.disconnect(conn)

	conn = connect()
	err = mt.negotiate(conn, 7, nil, nil)
	if err ~= nil then
		error("negotiate: " .. err)
	end
	mt.disconnect(conn)
end)
