-- The largest body chunk libmilter takes (65535 bytes) of arbitrary
-- bytes, NULs and all, in --format json: check-json.py decodes the chunk
-- and finds every byte of the file sent.  Too long for a golden file.
-- inspect-args: --format json
-- golden: none
-- check: check-json.py --body body.bin

dofile(lib)

run(function()
	-- A fixed pseudo-random sequence (an LCG), so that any byte value
	-- can follow any other.
	local bytes, x = {}, 12345
	for i = 1, 65535 do
		x = (x * 1103515245 + 12345) % 2147483648
		bytes[i] = string.char(x >> 16 & 0xff)
	end
	local body = scratch_file("body.bin", table.concat(bytes))

	local conn = connect()
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.eoh(conn)
	step.bodyfile(conn, body)
	step.eom(conn)
	mt.disconnect(conn)
end)
