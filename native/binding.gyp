{
  "targets": [
    {
      "target_name": "nsutil",
      "sources": ["nsutil.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
