/* escape.h -- the MTA's bytes made safe for a terminal, a log or JSON */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_ESCAPE_H
#define INSPECT_ESCAPE_H

#include <stddef.h>

#include "buf.h"

/*
 * Append len bytes of s to out, escaped for text output: printable ASCII
 * and printable UTF-8 as is, '\\' and '"' as \\ and \", TAB, LF and CR as
 * \t \n \r, other ASCII controls and bytes that are not valid UTF-8 as \xHH,
 * and C1 controls, bidirectional controls and line or paragraph separators
 * as \uHHHH.  Returns 0, or -1 on ENOMEM.
 */
int	escape_text(struct buf *out, const void *s, size_t len);

/*
 * As escape_text(), with each run of escapes put between on and off
 * (terminal styles; empty or NULL: none), so that they stand out from
 * the MTA's bytes.  Returns 0, or -1 on ENOMEM.
 */
int	escape_text_styled(struct buf *out, const void *s, size_t len,
	    const char *on, const char *off);

/*
 * Append len bytes of s to out as the contents of a JSON string (without
 * the quotes).  Valid UTF-8 is kept, with TAB, LF and CR as \t \n \r and
 * other controls, DEL, C1 controls,
 * bidirectional controls and line or paragraph separators written as
 * \uHHHH; a byte that is not part of valid UTF-8 is written as \udcHH
 * (the surrogateescape convention), so the exact bytes can be rebuilt.
 * Returns 0, or -1 on ENOMEM.
 */
int	escape_json(struct buf *out, const void *s, size_t len);

/*
 * Where to cut s (len bytes), between from and at most at, so as not to
 * split a valid UTF-8 character: before the character that would span
 * the cut, if one does.
 */
size_t	escape_cut(const unsigned char *s, size_t from, size_t at,
	    size_t len);

#endif
