// SPDX-License-Identifier: GPL-2.0-or-later
// run_cxx.cc - a C++ program for tests/test-run.sh: std::vector, std::map
// and std::string through operator new and delete (libstdc++'s, which call
// malloc and free).  Its output is the same natively and under dpemu run.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

int main()
{
	std::vector<std::string> words;
	std::map<std::string, unsigned> counts;
	unsigned long long x = 12345;

	for (unsigned i = 0; i < 200000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		std::string w = "w" + std::to_string((x >> 33) % 5000);
		words.push_back(w);
		counts[w]++;
	}
	std::vector<unsigned> v;
	for (unsigned i = 0; i < 1000000; i++)
		v.push_back(i * 2654435761u);
	unsigned long long sum = 0;
	for (unsigned u : v)
		sum += u;
	std::printf("words %zu, distinct %zu, first %s, w42 %u, sum %llu\n", words.size(),
	            counts.size(), counts.begin()->first.c_str(), counts["w42"], sum);
	return 0;
}
