/*
 * One rumprun note (see rumprun-note.h).  Assembled by the tools with
 * -DNOTE_TYPE=<type> -DNOTE_DESC=<quoted string>.
 */
#include "rumprun-note.h"

	.section RUMPRUN_NOTE_SECTION, "a", @note
	.balign 4
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz, padding included */
	.long NOTE_TYPE
1:	.asciz RUMPRUN_NOTE_NAME
2:	.balign 4
3:	.asciz NOTE_DESC
	.balign 4
4:
	.section .note.GNU-stack, "", @progbits
