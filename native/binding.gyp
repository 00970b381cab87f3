{
  "targets": [
    {
      "target_name": "pbkdf2_sha512",
      "sources": ["pbkdf2_sha512.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
