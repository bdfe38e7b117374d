"""The JSON API's probe side: the catalogue, hosts, kernels, runs, results, offline imports."""
