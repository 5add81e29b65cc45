// A Go program built by Debian's go with CGO_ENABLED=0 (a static
// executable with Go's own runtime: threads through clone, futexes, mmap,
// sigaltstack, rt_sigaction, sched_getaffinity, epoll), baked as it is and
// compared with its run on Linux (tests/test_exec.py).
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	fmt.Printf("args %q WORLD=%s\n", os.Args[1:], os.Getenv("WORLD"))

	var wg sync.WaitGroup
	results := make(chan int, 8)
	for i := 1; i <= 8; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			time.Sleep(time.Duration(n) * time.Millisecond)
			results <- n * n
		}(i)
	}
	wg.Wait()
	close(results)
	sum := 0
	for v := range results {
		sum += v
	}
	fmt.Println("goroutines", sum)

	counts := map[string]int{}
	for i := 0; i < 200000; i++ {
		counts[fmt.Sprint(i%997)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println("map", len(counts), keys[0], keys[len(keys)-1])

	path := fmt.Sprintf("/tmp/go-exec-%d.txt", os.Getpid())
	if err := os.WriteFile(path, []byte("file line\n"), 0o644); err != nil {
		fmt.Println("write:", err)
	}
	data, err := os.ReadFile(path)
	os.Remove(path)
	fmt.Printf("file %q %v\n", strings.TrimSpace(string(data)), err)

	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Println("slept", time.Since(start) >= 20*time.Millisecond)
	code := 0
	if len(os.Args) > 1 {
		fmt.Sscan(os.Args[len(os.Args)-1], &code)
	}
	os.Exit(code)
}
