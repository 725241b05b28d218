/*
 * microvm-standin IMAGE [SIZE_MB]: the lab's stand-in for a microVM's QEMU.
 *
 * What it does with the disk image is what QEMU and microvm.nix do with it:
 *  - creates IMAGE as a sparse file of SIZE_MB (default 256) when there is none
 *    (microvm.nix's autoCreate; a link whose target is missing creates the
 *    target, as `truncate` in microvm.nix's start script would);
 *  - opens it for reading and writing, and keeps it open while it runs;
 *  - takes an exclusive open file description lock (fcntl F_OFD_SETLK,
 *    F_WRLCK, the whole file) as QEMU's image locking does, so a second
 *    stand-in on the same image fails at once (exit 1, QEMU's message);
 *  - exits with status 0 on SIGTERM, SIGINT or SIGHUP (a clean stop).
 * Built by the lab with the host's gcc (static, no compiler in the labs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: microvm-standin IMAGE [SIZE_MB]\n");
    return 2;
  }
  const char *image = argv[1];
  long long size_mb = argc == 3 ? atoll(argv[2]) : 256;

  /* Block the stop signals first: they are taken with sigwait below, so one
     that arrives while starting up is not lost. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  sigprocmask(SIG_BLOCK, &stop, NULL);

  struct stat st;
  if (stat(image, &st) != 0) {
    if (errno != ENOENT) {
      fprintf(stderr, "microvm-standin: %s: %s\n", image, strerror(errno));
      return 1;
    }
    int c = open(image, O_WRONLY | O_CREAT, 0644); /* follows a dangling link */
    if (c < 0 || ftruncate(c, size_mb * 1024 * 1024) != 0) {
      fprintf(stderr, "microvm-standin: creating %s: %s\n", image, strerror(errno));
      return 1;
    }
    close(c);
    printf("microvm-standin: created %s (%lld MiB, sparse)\n", image, size_mb);
  }

  int fd = open(image, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "microvm-standin: opening %s: %s\n", image, strerror(errno));
    return 1;
  }
  struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0, .l_pid = 0};
  if (fcntl(fd, F_OFD_SETLK, &lk) != 0) {
    int e = errno;
    fprintf(stderr, "microvm-standin: Failed to get \"write\" lock on %s: %s\n", image,
            e == EAGAIN || e == EACCES ? "Is another process using the image?" : strerror(e));
    return 1;
  }
  printf("microvm-standin: running on %s\n", image);
  fflush(stdout);

  int sig = 0;
  while (sigwait(&stop, &sig) != 0) {
  }
  printf("microvm-standin: signal %d, stopping\n", sig);
  close(fd);
  return 0;
}
