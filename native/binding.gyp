{
  "targets": [
    {
      "target_name": "nsutil",
      "sources": ["nsutil.c", "rtnl.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
