/* Compiled with -fPIC (general-dynamic TLS: __tls_get_addr), as a static
 * library built position-independent would be (tests/test_fidelity.py). */
static __thread int mine = 1;

int tls_pic_bump(int by)
{
	mine += by;
	return mine;
}
