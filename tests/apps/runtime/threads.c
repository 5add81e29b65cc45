/* Threads on the cooperative scheduler: every case blocks or yields. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <string.h>
#include <unistd.h>
#include "../apptest.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---- create, join, detach, exit ---------------------------------------- */

static void *square(void *arg)
{
	long n = (long)arg;

	sched_yield();
	return (void *)(n * n);
}

static void create_join(int argc, char **argv)
{
	pthread_t t[8];
	void *ret;
	long i, sum = 0;

	for (i = 0; i < 8; i++)
		CHECK(pthread_create(&t[i], NULL, square, (void *)i) == 0, "thread %ld", i);
	for (i = 0; i < 8; i++) {
		CHECK(pthread_join(t[i], &ret) == 0, "join %ld", i);
		CHECK((long)ret == i * i, "thread %ld returned %ld", i, (long)ret);
		sum += (long)ret;
	}
	CHECK(!pthread_equal(t[0], pthread_self()), "a thread is not main");
	printf("ok create_join: 8 threads returned squares summing to %ld\n", sum);
}

static sem_t detached_done;
static volatile int detached_ran;

static void *detached(void *arg)
{
	CHECK(arg || pthread_detach(pthread_self()) == 0, "self-detach");
	detached_ran++;
	sem_post(&detached_done);
	return NULL;
}

static void detach(int argc, char **argv)
{
	pthread_t t;
	pthread_attr_t attr;

	sem_init(&detached_done, 0, 0);
	/* One detached by the attribute, one detaching itself. */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	CHECK(pthread_create(&t, &attr, detached, (void *)1) == 0, "create detached");
	CHECK(pthread_create(&t, NULL, detached, NULL) == 0, "create");
	sem_wait(&detached_done);
	sem_wait(&detached_done);
	CHECK(detached_ran == 2, "%d detached threads ran", detached_ran);
	printf("ok detach: %d detached threads ran\n", detached_ran);
}

static void deep_exit(int depth)
{
	void (*volatile next)(int) = deep_exit;

	if (depth <= 0)
		pthread_exit((void *)42);
	next(depth - 1);
	printf("FAIL pthread_exit returned\n");
}

static void *exits_deep(void *arg)
{
	deep_exit(5);
	return NULL;
}

static void thread_exit(int argc, char **argv)
{
	pthread_t t;
	void *ret = NULL;

	CHECK(pthread_create(&t, NULL, exits_deep, NULL) == 0, "create");
	CHECK(pthread_join(t, &ret) == 0, "join");
	CHECK(ret == (void *)42, "pthread_exit value %p", ret);
	printf("ok pthread_exit: join got %ld\n", (long)ret);
}

static void *outlives_main(void *arg)
{
	sleep_ms(20);
	printf("ok worker ran after main called pthread_exit\n");
	return NULL;
}

/* main calls pthread_exit: the program ends (status 0) with its last thread. */
static void main_exit(int argc, char **argv)
{
	pthread_t t;

	CHECK(pthread_create(&t, NULL, outlives_main, NULL) == 0, "create");
	printf("main: pthread_exit\n");
	pthread_exit(NULL);
}

/* ---- mutexes ----------------------------------------------------------- */

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *count_up(void *arg)
{
	int i;

	for (i = 0; i < 1000; i++) {
		pthread_mutex_lock(&counter_lock);
		long c = counter;
		if (i % 10 == 0)
			sched_yield(); /* others must wait for the lock */
		counter = c + 1;
		pthread_mutex_unlock(&counter_lock);
	}
	return NULL;
}

static void *try_locked(void *arg) { return (void *)(long)pthread_mutex_trylock(arg); }

static void mutex(int argc, char **argv)
{
	pthread_t t[4];
	pthread_mutex_t m;
	pthread_mutexattr_t attr;
	void *ret;
	int i;

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, count_up, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(counter == 4000, "counter %ld", counter);

	pthread_mutex_lock(&counter_lock);
	pthread_create(&t[0], NULL, try_locked, &counter_lock);
	pthread_join(t[0], &ret);
	CHECK((long)ret == EBUSY, "trylock of a held mutex gave %ld", (long)ret);
	pthread_mutex_unlock(&counter_lock);

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m, &attr);
	CHECK(pthread_mutex_lock(&m) == 0 && pthread_mutex_lock(&m) == 0, "recursive");
	CHECK(pthread_mutex_unlock(&m) == 0 && pthread_mutex_unlock(&m) == 0, "recursive unlock");
	pthread_mutex_destroy(&m);

	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m, &attr);
	pthread_mutex_lock(&m);
	CHECK(pthread_mutex_lock(&m) == EDEADLK, "errorcheck relock");
	pthread_mutex_unlock(&m);
	CHECK(pthread_mutex_unlock(&m) == EPERM, "errorcheck unlock of unlocked");
	printf("ok mutex: counter %ld, trylock EBUSY, recursive, errorcheck\n", counter);
}

/* ---- condition variables ----------------------------------------------- */

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static int queue[16], qhead, qtail, woken;

static void *consumer(void *arg)
{
	int got = 0, sum = 0, v;

	while (got < 100) {
		pthread_mutex_lock(&qlock);
		while (qhead == qtail)
			pthread_cond_wait(&qcond, &qlock);
		v = queue[qhead++ % 16];
		pthread_cond_broadcast(&qcond);
		pthread_mutex_unlock(&qlock);
		sum += v;
		got++;
	}
	return (void *)(long)sum;
}

static int go;

static void *wait_for_go(void *arg)
{
	pthread_mutex_lock(&qlock);
	while (!go)
		pthread_cond_wait(&qcond, &qlock);
	woken++;
	pthread_mutex_unlock(&qlock);
	return NULL;
}

static void cond(int argc, char **argv)
{
	pthread_t t[3];
	void *sum;
	int i;

	/* A bounded queue: the producer waits when full, the consumer when empty. */
	pthread_create(&t[0], NULL, consumer, NULL);
	for (i = 1; i <= 100; i++) {
		pthread_mutex_lock(&qlock);
		while (qtail - qhead == 16)
			pthread_cond_wait(&qcond, &qlock);
		queue[qtail++ % 16] = i;
		pthread_cond_signal(&qcond);
		pthread_mutex_unlock(&qlock);
	}
	pthread_join(t[0], &sum);
	CHECK((long)sum == 5050, "consumer summed %ld", (long)sum);

	/* Broadcast wakes every waiter. */
	for (i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, wait_for_go, NULL);
	sleep_ms(10);
	pthread_mutex_lock(&qlock);
	CHECK(woken == 0, "%d woke before the broadcast", woken);
	go = 1;
	pthread_cond_broadcast(&qcond);
	pthread_mutex_unlock(&qlock);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(woken == 3, "broadcast woke %d of 3", woken);
	printf("ok cond: queue sum %ld, broadcast woke %d\n", (long)sum, woken);
}

static void cond_timeout(int argc, char **argv)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	pthread_condattr_t attr;
	struct timespec ts;
	int64_t t0, t1, t2;
	int r1, r2;

	pthread_mutex_lock(&m);
	t0 = now_ns(); /* first: the deadline is at least 50 ms after it */
	ts = deadline_ms(50);
	r1 = pthread_cond_timedwait(&c, &m, &ts);
	t1 = now_ns();

	/* The same on a CLOCK_MONOTONIC condition variable. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c, &attr);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 50000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	r2 = pthread_cond_timedwait(&c, &m, &ts);
	t2 = now_ns();
	pthread_mutex_unlock(&m);
	CHECK(r1 == ETIMEDOUT, "realtime timedwait gave %d", r1);
	CHECK(r2 == ETIMEDOUT, "monotonic timedwait gave %d", r2);
	printf("cond_timedwait realtime 50 ms: %s after %ld us\n",
	    r1 == ETIMEDOUT ? "ETIMEDOUT" : strerror(r1), (long)((t1 - t0) / 1000));
	printf("cond_timedwait monotonic 50 ms: %s after %ld us\n",
	    r2 == ETIMEDOUT ? "ETIMEDOUT" : strerror(r2), (long)((t2 - t1) / 1000));
}

static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sig_cond = PTHREAD_COND_INITIALIZER;
static int signalled;

static void *signal_later(void *arg)
{
	sleep_ms(20);
	pthread_mutex_lock(&sig_lock);
	signalled = 1;
	pthread_cond_signal(&sig_cond);
	pthread_mutex_unlock(&sig_lock);
	return NULL;
}

static void cond_signalled(int argc, char **argv)
{
	pthread_t t;
	struct timespec ts = deadline_ms(5000);
	int64_t t0 = now_ns();
	int r = 0;

	pthread_create(&t, NULL, signal_later, NULL);
	pthread_mutex_lock(&sig_lock);
	while (!signalled && r == 0)
		r = pthread_cond_timedwait(&sig_cond, &sig_lock, &ts);
	pthread_mutex_unlock(&sig_lock);
	pthread_join(t, NULL);
	CHECK(r == 0 && signalled, "timedwait gave %d, signalled %d", r, signalled);
	printf("cond_timedwait signalled after %ld us: %d\n", (long)((now_ns() - t0) / 1000), r);
}

/* ---- rwlocks, barriers, semaphores, once -------------------------------- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int readers_in, max_readers, writer_saw_readers = -1;

static void *reader(void *arg)
{
	pthread_rwlock_rdlock(&rw);
	readers_in++;
	if (readers_in > max_readers)
		max_readers = readers_in;
	sleep_ms(10); /* the other readers get in meanwhile */
	readers_in--;
	pthread_rwlock_unlock(&rw);
	return NULL;
}

static void *writer(void *arg)
{
	pthread_rwlock_wrlock(&rw);
	writer_saw_readers = readers_in;
	pthread_rwlock_unlock(&rw);
	return NULL;
}

static void *try_rw(void *arg)
{
	int rd = pthread_rwlock_tryrdlock(&rw);

	if (rd == 0)
		pthread_rwlock_unlock(&rw);
	return (void *)(long)(rd * 1000 + pthread_rwlock_trywrlock(&rw));
}

static void rwlock(int argc, char **argv)
{
	pthread_t t[4];
	void *ret;
	int i;

	for (i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	sched_yield();
	pthread_create(&t[3], NULL, writer, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(max_readers == 3, "%d readers at once", max_readers);
	CHECK(writer_saw_readers == 0, "writer saw %d readers", writer_saw_readers);

	pthread_rwlock_rdlock(&rw);
	pthread_create(&t[0], NULL, try_rw, NULL);
	pthread_join(t[0], &ret);
	pthread_rwlock_unlock(&rw);
	CHECK((long)ret == EBUSY, "with a reader in: tryrdlock*1000+trywrlock = %ld", (long)ret);
	printf("ok rwlock: %d readers at once, writer alone\n", max_readers);
}

static pthread_barrier_t barrier;
static int arrived, serial, after_barrier_saw[4];

static void *at_barrier(void *arg)
{
	long i = (long)arg;
	int r;

	sleep_ms(5 * i);
	arrived++;
	r = pthread_barrier_wait(&barrier);
	if (r == PTHREAD_BARRIER_SERIAL_THREAD)
		serial++;
	else
		CHECK(r == 0, "barrier_wait gave %d", r);
	after_barrier_saw[i] = arrived;
	return NULL;
}

static void barrier_(int argc, char **argv)
{
	pthread_t t[4];
	long i;

	pthread_barrier_init(&barrier, NULL, 4);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, at_barrier, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++)
		CHECK(after_barrier_saw[i] == 4, "thread %ld passed with %d arrived", i,
		    after_barrier_saw[i]);
	CHECK(serial == 1, "%d serial threads", serial);
	pthread_barrier_destroy(&barrier);
	printf("ok barrier: 4 passed together, %d serial thread\n", serial);
}

static sem_t sem;

static void *post_later(void *arg)
{
	sleep_ms(20);
	sem_post(&sem);
	return NULL;
}

static void semaphore(int argc, char **argv)
{
	pthread_t t;
	struct timespec ts;
	int64_t t0, t1;
	int r, v;

	CHECK(sem_init(&sem, 0, 2) == 0, "sem_init");
	CHECK(sem_wait(&sem) == 0 && sem_trywait(&sem) == 0, "two tokens");
	errno = 0;
	CHECK(sem_trywait(&sem) == -1 && errno == EAGAIN, "trywait on 0: errno %d", errno);

	pthread_create(&t, NULL, post_later, NULL);
	CHECK(sem_wait(&sem) == 0, "sem_wait woken by a post");
	pthread_join(t, NULL);

	ts = deadline_ms(50);
	t0 = now_ns();
	errno = 0;
	r = sem_timedwait(&sem, &ts);
	t1 = now_ns();
	CHECK(r == -1 && errno == ETIMEDOUT, "sem_timedwait gave %d errno %d", r, errno);
	printf("sem_timedwait 50 ms: %s after %ld us\n",
	    errno == ETIMEDOUT ? "ETIMEDOUT" : strerror(errno), (long)((t1 - t0) / 1000));

	pthread_create(&t, NULL, post_later, NULL);
	ts = deadline_ms(5000);
	CHECK(sem_timedwait(&sem, &ts) == 0, "sem_timedwait woken by a post: errno %d", errno);
	pthread_join(t, NULL);

	sem_post(&sem);
	sem_post(&sem);
	sem_getvalue(&sem, &v);
	CHECK(v == 2, "value %d", v);
	printf("ok semaphore: value %d\n", v);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;

static void init_once(void)
{
	sched_yield(); /* the others arrive while it runs */
	once_runs++;
}

static void *call_once(void *arg)
{
	pthread_once(&once, init_once);
	return (void *)(long)once_runs;
}

static void once_(int argc, char **argv)
{
	pthread_t t[8];
	void *seen;
	int i;

	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, call_once, NULL);
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], &seen);
		CHECK((long)seen == 1, "thread %d returned before init ran (%ld)", i, (long)seen);
	}
	CHECK(once_runs == 1, "init ran %d times", once_runs);
	printf("ok pthread_once: init ran %d time\n", once_runs);
}

/* ---- thread-specific data ---------------------------------------------- */

static pthread_key_t key;
static long destroyed_sum;
static int destroyed;

static void destroy(void *value)
{
	destroyed++;
	destroyed_sum += (long)value;
}

static void *set_key(void *arg)
{
	CHECK(pthread_getspecific(key) == NULL, "a new thread's value");
	pthread_setspecific(key, arg);
	sched_yield();
	CHECK(pthread_getspecific(key) == arg, "value kept across a yield");
	return NULL;
}

static void keys(int argc, char **argv)
{
	pthread_t t[3];
	long i;

	CHECK(pthread_key_create(&key, destroy) == 0, "key_create");
	pthread_setspecific(key, (void *)1000);
	for (i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, set_key, (void *)(i + 1));
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(destroyed == 3 && destroyed_sum == 6, "destructors ran %d times, sum %ld", destroyed,
	    destroyed_sum);
	CHECK(pthread_getspecific(key) == (void *)1000, "main's value");
	printf("ok keys: %d destructors, values summing to %ld\n", destroyed, destroyed_sum);
}

static __thread int tls_int = 42;
static __thread char tls_str[16] = "initial";
static __thread long tls_zero;

static void *use_tls(void *arg)
{
	long id = (long)arg;
	char want[16];
	int ok = tls_int == 42 && !strcmp(tls_str, "initial") && tls_zero == 0;

	snprintf(want, sizeof(want), "thread %ld", id);
	tls_int = id;
	strcpy(tls_str, want);
	tls_zero = id * 10;
	sched_yield(); /* the others write theirs meanwhile */
	ok = ok && tls_int == id && tls_zero == id * 10 && !strcmp(tls_str, want);
	return (void *)(long)ok;
}

static void tls(int argc, char **argv)
{
	pthread_t t[4];
	void *ok;
	long i;

	tls_int = -1;
	strcpy(tls_str, "main");
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, use_tls, (void *)(i + 1));
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &ok);
		CHECK(ok, "thread %ld saw wrong __thread values", i + 1);
	}
	CHECK(tls_int == -1 && !strcmp(tls_str, "main"), "main's: %d %s", tls_int, tls_str);
	printf("ok __thread: initialised and per-thread; main's %d %s\n", tls_int, tls_str);
}

/* ---- sched_yield ------------------------------------------------------- */

static char trace[64];
static int tracelen;

static void *yielder(void *arg)
{
	int i;

	for (i = 0; i < 5; i++) {
		trace[tracelen++] = *(char *)arg;
		sched_yield();
	}
	return NULL;
}

static void yield(int argc, char **argv)
{
	pthread_t a, b;

	pthread_create(&a, NULL, yielder, "A");
	pthread_create(&b, NULL, yielder, "B");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	trace[tracelen] = 0;
	/* Each yield lets the other run: the letters interleave. */
	CHECK(strstr(trace, "ABAB") || strstr(trace, "BABA"), "trace %s", trace);
	CHECK(sched_yield() == 0, "yield alone");
	printf("yield trace: %s\n", trace);
}

/* ---- many threads ------------------------------------------------------ */

static sem_t wave_go;
static int wave_alive;

static void *wave_member(void *arg)
{
	wave_alive++;
	sem_wait(&wave_go);
	return (void *)((long)arg + 1);
}

/*
 * 1000 threads with default attributes, 100 alive at a time (1000 default
 * stacks would not fit in 64 MiB): later waves reuse the earlier stacks.
 */
static void many_threads(int argc, char **argv)
{
	pthread_t t[100];
	void *ret;
	int wave, i, r, created = 0, joined = 0;

	sem_init(&wave_go, 0, 0);
	for (wave = 0; wave < 10; wave++) {
		wave_alive = 0;
		for (i = 0; i < 100; i++) {
			r = pthread_create(&t[i], NULL, wave_member, (void *)(long)i);
			if (r) {
				printf("FAIL pthread_create number %d: %s\n", created + 1,
				    strerror(r));
				failures++;
				return;
			}
			created++;
		}
		while (wave_alive < 100)
			sched_yield();
		for (i = 0; i < 100; i++)
			sem_post(&wave_go);
		for (i = 0; i < 100; i++) {
			CHECK(pthread_join(t[i], &ret) == 0 && (long)ret == i + 1, "join %d", i);
			joined++;
		}
	}
	printf("ok threads: %d created, %d joined, 100 alive at a time\n", created, joined);
}

CASES(thread) = {{"create_join", create_join}, {"detach", detach}, {"pthread_exit", thread_exit},
    {"main_exit", main_exit}, {"mutex", mutex}, {"cond", cond}, {"cond_timeout", cond_timeout},
    {"cond_signalled", cond_signalled}, {"rwlock", rwlock}, {"barrier", barrier_},
    {"semaphore", semaphore}, {"once", once_}, {"keys", keys}, {"tls", tls}, {"yield", yield},
    {"threads1000", many_threads}, END_CASES};
