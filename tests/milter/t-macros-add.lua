-- --macros +{x_custom}: the name is added to the default list, so a
-- macro of that list (j) and the custom one are both shown, in the order
-- the MTA sent them.
-- inspect-args: --macros +{x_custom}

dofile(lib)

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "{x_custom}", "custom value",
	    "j", "mx.example")
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	mt.disconnect(conn)
end)
