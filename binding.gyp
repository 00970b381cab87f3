{
  "targets": [
    {
      "target_name": "pbkdf2_sha512",
      "sources": ["native/pbkdf2_sha512.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
