-- A binary body, sent with mt.bodyfile (mt.bodystring stops at a NUL):
-- a NUL in a line, then every byte from 0 to 255 in order.  The length
-- counts every byte; controls, DEL and each byte from 0x80 up (none of
-- them is UTF-8 in this order) are shown as \xHH, TAB CR LF as \t \r \n,
-- and a line ends after each LF.

dofile(lib)

run(function()
	local bytes = {}
	for b = 0, 255 do
		bytes[#bytes + 1] = string.char(b)
	end
	local body = scratch_file("body.bin",
	    "NUL\0in the middle\r\n" .. table.concat(bytes) .. "\r\n")

	local conn = connect()
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Content-Type", "application/octet-stream")
	step.eoh(conn)
	step.bodyfile(conn, body)
	step.eom(conn)
	mt.disconnect(conn)
end)
