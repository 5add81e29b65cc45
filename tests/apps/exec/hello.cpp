// A C++ program, built static by the host's g++ and by rumprun-c++, baked
// as it is and compared with its run on Linux (tests/test_exec.py,
// tests/test_cxx.py): iostream, string, vector, map, exceptions thrown and
// caught across functions, a static constructor and destructor,
// std::thread, the exit status.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Announcer {
	std::string name;
	explicit Announcer(std::string n) : name(std::move(n)) { std::cout << "ctor " << name << '\n'; }
	~Announcer() { std::cout << "dtor " << name << std::endl; }
};
Announcer global("global");

struct ParseError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

int parse(const std::string &s)
{
	std::size_t used = 0;
	int v = 0;
	try {
		v = std::stoi(s, &used);
	} catch (const std::invalid_argument &) {
		throw ParseError("not a number: " + s);
	}
	if (used != s.size())
		throw ParseError("trailing text in " + s);
	return v;
}

int sum_all(const std::vector<std::string> &words)
{
	int total = 0;
	for (const auto &w : words)
		total += parse(w);	// throws through here
	return total;
}

}  // namespace

int main(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	std::map<std::string, int> counts;
	for (const char *w : {"pear", "fig", "pear", "apple", "fig", "pear"})
		counts[w]++;
	for (const auto &[word, n] : counts)
		std::cout << word << '=' << n << ' ';
	std::cout << '\n';

	std::vector<int> v{5, 3, 9, 1};
	std::sort(v.begin(), v.end());
	std::ostringstream joined;
	for (int x : v)
		joined << x << ',';
	std::cout << "sorted " << joined.str() << '\n';

	try {
		std::cout << "sum " << sum_all({"1", "2", "3"}) << '\n';
		std::cout << "sum " << sum_all({"4", "five"}) << '\n';
	} catch (const ParseError &e) {
		std::cout << "caught: " << e.what() << '\n';
	}
	try {
		throw std::out_of_range("plain throw");
	} catch (const std::exception &e) {
		std::cout << "caught: " << e.what() << '\n';
	}

	std::mutex m;
	int total = 0;
	std::vector<std::thread> threads;
	for (int i = 1; i <= 4; i++)
		threads.emplace_back([&, i] { std::lock_guard<std::mutex> g(m); total += i; });
	for (auto &t : threads)
		t.join();
	std::cout << "threads " << total << '\n';

	auto owned = std::make_unique<Announcer>("scoped");
	owned.reset();
	std::cout << "args " << args.size() << '\n';
	return args.empty() ? 0 : std::atoi(args.back().c_str());
}
