// The console's files are imported with `type: "file"`: each import is the file's path, from source and
// inside the compiled binary alike.
declare module "*.css" {
  const path: string;
  export default path;
}
