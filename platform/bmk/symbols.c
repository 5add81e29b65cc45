/* Addresses to function names for crash reports, from the bake's symbol table. */
#include <bmk/symbols.h>
#include <stddef.h>
#include <rumprun_abi.h>

_Static_assert(sizeof(struct bmk_symbol) == RUMPRUN_SYMBOL_ENTRY_SIZE,
    "the bake writes RUMPRUN_SYMBOL_ENTRY_SIZE bytes per symbol");

extern const uint64_t rumprun_symtab_count __attribute__((weak));
extern const struct bmk_symbol rumprun_symtab[] __attribute__((weak));
extern const char rumprun_symtab_names[] __attribute__((weak));

const char *bmk_symbol_lookup(uintptr_t addr, uintptr_t *offset)
{
	size_t lo = 0, hi;
	const struct bmk_symbol *s;

	if (!&rumprun_symtab_count)
		return NULL;
	hi = rumprun_symtab_count;
	while (lo < hi) { /* the last symbol starting at or below addr */
		size_t mid = lo + (hi - lo) / 2;

		if (rumprun_symtab[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	s = &rumprun_symtab[lo - 1];
	if (addr >= s->addr + s->size)
		return NULL;
	*offset = addr - s->addr;
	return rumprun_symtab_names + s->name;
}
