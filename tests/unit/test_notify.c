/* test_notify.c - the datagrams sd_notify sends for us, read back from a
 * socket of our own (sd_notify(3): NOTIFY_SOCKET may be any AF_UNIX path). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "notify.h"

static int sock = -1;
static char path[108];

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

	(void)state;
	snprintf(path, sizeof(path), "/tmp/pr-notify-test-%d", (int)getpid());
	unlink(path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -1;
	strcpy(sa.sun_path, path);
	if (bind(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", path, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(sock);
	unlink(path);
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

/* Next datagram, or "" after the timeout. */
static const char *next_msg(void)
{
	static char buf[1024];
	ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_messages(void **state)
{
	(void)state;
	notify_ready("idle, next run 2026-11-26T00:00:00Z");
	assert_string_equal(next_msg(),
		"READY=1\nSTATUS=idle, next run 2026-11-26T00:00:00Z");
	notify_status("importing %d/%d datasets", 1, 3);
	assert_string_equal(next_msg(), "STATUS=importing 1/3 datasets");
	notify_status("importing %d/%d datasets", 1, 3); /* unchanged: nothing */
	notify_status("importing %d/%d datasets", 2, 3);
	assert_string_equal(next_msg(), "STATUS=importing 2/3 datasets");
	notify_watchdog();
	assert_string_equal(next_msg(), "WATCHDOG=1");
	notify_reloading();
	assert_true(strncmp(next_msg(), "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	notify_stopping();
	assert_string_equal(next_msg(), "STOPPING=1");
	assert_string_equal(next_msg(), "");
}

static void test_watchdog_usec(void **state)
{
	char pid[32];

	(void)state;
	unsetenv("WATCHDOG_USEC");
	assert_int_equal(notify_watchdog_usec(), 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(notify_watchdog_usec(), 30000000);
	setenv("WATCHDOG_PID", "1", 1); /* for another process */
	assert_int_equal(notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_watchdog_usec),
	};
	return cmocka_run_group_tests_name("notify", tests, setup, teardown);
}
