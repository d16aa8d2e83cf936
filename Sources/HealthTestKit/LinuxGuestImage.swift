import Foundation

/// A tiny Linux guest for end-to-end tests, made from Debian packages and cached between runs.
///
/// The kernel and its modules come from the package `linux-image-amd64` depends on (`apt-get download`, then
/// `dpkg-deb -x`), busybox from `busybox-static`, the guest agent is this machine's `qemu-ga` (package
/// `qemu-guest-agent`) with the shared libraries `ldd` names. The kernel is booted uncompressed (`vmlinux`, through
/// its PVH entry point: QEMU's `-kernel` takes the ELF), which saves the decompression of `vmlinuz`, the slowest part
/// of a boot without hardware virtualisation. The initramfs (an uncompressed newc cpio) holds busybox and its
/// applets, the virtio and ext4 modules in dependency order, qemu-ga and ``initScript``.
///
/// Cached in `$XDG_CACHE_HOME/hive-health/guest/<key>` (else `~/.cache/...`), `<key>` a hash of the package versions
/// and ``formatVersion``; built in a temporary folder beside it and renamed into place, so a half-built image is
/// never used; one build at a time (`flock` on `.lock` there).
public struct LinuxGuestImage: Sendable {
    /// Bumped when what is built changes (the init script, the module list), so old caches are not used.
    public static let formatVersion = 1
    /// The marker the init script prints once the guest is up (`console.log`'s login pattern matches it).
    public static let loginMarker = "hive-guest login: "
    /// Kernel command line argument that makes the init script stop before the login marker (a stuck boot).
    public static let hangBootArgument = "hive.hang_boot=1"
    /// Where the init script mounts the virtio disk (formatted ext2 on first use, mounted `errors=remount-ro`).
    public static let dataMountPoint = "/data"
    /// Modules the guest needs (their dependencies are added, in order): virtio PCI transport, the agent's console
    /// port, the balloon, the disk, and ext4 for the disk's file system.
    public static let modules = [
        "virtio_pci", "virtio_console", "virtio_balloon", "virtio_blk", "crc32c_generic", "ext4",
    ]

    /// The uncompressed kernel (ELF with a PVH note).
    public let kernel: String
    /// The initramfs (newc cpio).
    public let initramfs: String
    /// The kernel package and version, e.g. `linux-image-6.1.0-57-amd64 6.1.192-3`.
    public let kernelPackage: String

    /// The cached image, built first when it is not there. Blocking work runs off the cooperative pool.
    public static func prepared() async throws -> LinuxGuestImage {
        try await offCooperativePool { try preparedBlocking() }
    }

    static func cacheRoot() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/hive-health/guest" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.cache/hive-health/guest"
    }

    static func preparedBlocking() throws -> LinuxGuestImage {
        let kernelPackage = try dependency(of: "linux-image-amd64", prefix: "linux-image-")
        let kernelVersion = try candidate(kernelPackage)
        let busyboxVersion = try candidate("busybox-static")
        let agentVersion = try OVSDBFixture.run("dpkg-query", ["-W", "-f=${Version}", "qemu-guest-agent"])
        let versions = [
            "format \(formatVersion)", "\(kernelPackage) \(kernelVersion)", "busybox-static \(busyboxVersion)",
            "qemu-guest-agent \(agentVersion)",
        ]
        let manifest = versions.joined(separator: "\n") + "\n"
        let root = cacheRoot()
        let folder = root + "/" + fnv1a(manifest)
        let image = LinuxGuestImage(
            kernel: folder + "/vmlinux", initramfs: folder + "/initramfs.cpio", kernelPackage: versions[1])
        let manager = FileManager.default
        if manager.fileExists(atPath: folder + "/manifest") { return image }
        try manager.createDirectory(atPath: root, withIntermediateDirectories: true)
        // One build at a time (tests in one run ask at once); the others wait, then find the image.
        let lock = open(root + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw HiveInstanceLauncher.Failure("cannot open \(root)/.lock: errno \(errno)") }
        defer { close(lock) }
        flock(lock, LOCK_EX)
        if manager.fileExists(atPath: folder + "/manifest") { return image }
        let work = root + "/.building-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try manager.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? manager.removeItem(atPath: work) }
        let output = work + "/image"
        try manager.createDirectory(atPath: output, withIntermediateDirectories: true)
        try build(kernelPackage: kernelPackage, work: work, output: output)
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: output + "/manifest"))
        // A rename is atomic; when another build won the race, its image is as good as ours.
        if rename(output, folder) != 0, !manager.fileExists(atPath: folder + "/manifest") {
            throw HiveInstanceLauncher.Failure("cannot move the guest image into \(folder): errno \(errno)")
        }
        return image
    }

    private static func build(kernelPackage: String, work: String, output: String) throws {
        let manager = FileManager.default
        let debs = work + "/debs"
        try manager.createDirectory(atPath: debs, withIntermediateDirectories: true)
        // apt's download sandbox user must be able to write there.
        chmod(work, 0o755)
        chmod(debs, 0o777)
        try OVSDBFixture.run("apt-get", ["download", "-q", kernelPackage, "busybox-static"], in: debs)
        let files = try manager.contentsOfDirectory(atPath: debs)
        func deb(_ prefix: String) throws -> String {
            guard let name = files.first(where: { $0.hasPrefix(prefix + "_") && $0.hasSuffix(".deb") }) else {
                throw HiveInstanceLauncher.Failure("apt-get download left no \(prefix) package in \(debs)")
            }
            return debs + "/" + name
        }
        let kernelTree = work + "/kernel"
        let busyboxTree = work + "/busybox"
        try OVSDBFixture.run("dpkg-deb", ["-x", deb(kernelPackage), kernelTree])
        try OVSDBFixture.run("dpkg-deb", ["-x", deb("busybox-static"), busyboxTree])

        try extractKernel(from: kernelTree, work: work, to: output + "/vmlinux")

        let rootTree = work + "/root"
        for folder in ["bin", "sbin", "usr/bin", "usr/sbin", "lib/modules", "etc", "proc", "sys", "dev", "run", "tmp"] {
            try manager.createDirectory(atPath: rootTree + "/" + folder, withIntermediateDirectories: true)
        }
        let busybox = busyboxTree + "/bin/busybox"
        try manager.copyItem(atPath: busybox, toPath: rootTree + "/bin/busybox")
        for applet in try OVSDBFixture.run(busybox, ["--list"]).split(separator: "\n") where applet != "busybox" {
            try? manager.createSymbolicLink(atPath: rootTree + "/bin/" + applet, withDestinationPath: "busybox")
        }

        let order = try moduleOrder(tree: kernelTree)
        for (name, path) in order {
            try manager.copyItem(atPath: path, toPath: rootTree + "/lib/modules/\(name).ko")
        }
        try Data((order.map(\.name).joined(separator: "\n") + "\n").utf8)
            .write(to: URL(fileURLWithPath: rootTree + "/etc/modules"))

        try copyGuestAgent(into: rootTree)
        try Data(initScript.utf8).write(to: URL(fileURLWithPath: rootTree + "/init"))
        chmod(rootTree + "/init", 0o755)

        let archive = try NewcArchive(path: output + "/initramfs.cpio")
        try archive.tree(rootTree)
        try archive.finish()
    }

    /// `vmlinuz` is a bzImage whose payload is one xz stream: cut it out and decompress it to the ELF `vmlinux`.
    private static func extractKernel(from tree: String, work: String, to destination: String) throws {
        let boot = tree + "/boot"
        guard let name = try FileManager.default.contentsOfDirectory(atPath: boot).first(where: {
            $0.hasPrefix("vmlinuz-")
        }) else { throw HiveInstanceLauncher.Failure("no vmlinuz in the kernel package") }
        let bzImage = try Data(contentsOf: URL(fileURLWithPath: boot + "/" + name))
        guard let start = bzImage.firstRange(of: Data([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]))?.lowerBound else {
            throw HiveInstanceLauncher.Failure("\(name) holds no xz stream (the kernel is compressed another way)")
        }
        let compressed = work + "/vmlinux.xz"
        try bzImage[start...].write(to: URL(fileURLWithPath: compressed))
        try OVSDBFixture.run("xz", ["-d", "--single-stream", compressed])
        let elf = try FileHandle(forReadingFrom: URL(fileURLWithPath: work + "/vmlinux"))
        let magic = try elf.read(upToCount: 4)
        try elf.close()
        guard magic == Data([0x7F, 0x45, 0x4C, 0x46]) else {
            throw HiveInstanceLauncher.Failure("the kernel decompressed from \(name) is not an ELF file")
        }
        try FileManager.default.moveItem(atPath: work + "/vmlinux", toPath: destination)
    }

    /// ``modules`` and what they depend on (each module's `.modinfo` `depends=`), dependencies first. Built-in
    /// modules (`modules.builtin`) are left out.
    static func moduleOrder(tree: String) throws -> [(name: String, path: String)] {
        let manager = FileManager.default
        let base = [tree + "/lib/modules", tree + "/usr/lib/modules"].first { manager.fileExists(atPath: $0) }
        guard let base, let release = try manager.contentsOfDirectory(atPath: base).first else {
            throw HiveInstanceLauncher.Failure("no lib/modules in the kernel package")
        }
        let folder = base + "/" + release
        var index: [String: String] = [:]
        if let enumerator = manager.enumerator(atPath: folder + "/kernel") {
            while let relative = enumerator.nextObject() as? String {
                guard relative.hasSuffix(".ko") else { continue }
                let name = String(relative.split(separator: "/").last!.dropLast(3)).replacingOccurrences(
                    of: "-", with: "_")
                index[name] = folder + "/kernel/" + relative
            }
        }
        let builtin = Set(
            ((try? String(contentsOfFile: folder + "/modules.builtin", encoding: .utf8)) ?? "").split(separator: "\n")
                .map { String($0.split(separator: "/").last ?? "").replacingOccurrences(of: ".ko", with: "") }
                .map { $0.replacingOccurrences(of: "-", with: "_") })
        var ordered: [(name: String, path: String)] = []
        var visiting: Set<String> = []
        func visit(_ name: String) throws {
            guard !builtin.contains(name), !ordered.contains(where: { $0.name == name }) else { return }
            guard visiting.insert(name).inserted else { throw HiveInstanceLauncher.Failure("module cycle at \(name)") }
            guard let path = index[name] else {
                throw HiveInstanceLauncher.Failure("module \(name) is neither built in nor in the kernel package")
            }
            for dependency in try dependencies(path) { try visit(dependency) }
            ordered.append((name, path))
        }
        for module in modules { try visit(module) }
        return ordered
    }

    /// The `depends=` field of a module's `.modinfo` section (NUL-separated `key=value` strings).
    static func dependencies(_ path: String) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let key = Data("\0depends=".utf8)
        guard let range = data.firstRange(of: key) else { return [] }
        let end = data[range.upperBound...].firstIndex(of: 0) ?? data.endIndex
        return String(decoding: data[range.upperBound..<end], as: UTF8.self).split(separator: ",").map(String.init)
    }

    /// This machine's `qemu-ga` and every shared library `ldd` lists (the dynamic loader too), at the same paths.
    private static func copyGuestAgent(into root: String) throws {
        guard let agent = ChildProcess.which("qemu-ga") else {
            throw HiveInstanceLauncher.Failure("qemu-ga is not installed (scripts/test.sh installs qemu-guest-agent)")
        }
        var files = [agent]
        for line in try OVSDBFixture.run("ldd", [agent]).split(separator: "\n") {
            let words = line.split(whereSeparator: \.isWhitespace)
            if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count, words[arrow + 1].hasPrefix("/") {
                files.append(String(words[arrow + 1]))
            } else if let first = words.first, first.hasPrefix("/") {
                files.append(String(first))
            }
        }
        let manager = FileManager.default
        for file in files {
            let destination = root + "/usr/sbin/qemu-ga"
            let target = file == agent ? destination : root + file
            try manager.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(contentsOf: URL(fileURLWithPath: file).resolvingSymlinksInPath())
                .write(to: URL(fileURLWithPath: target))
            chmod(target, 0o755)
        }
    }

    /// The guest's `/init`: mounts, modules, the agent channel link (no udev), the disk, qemu-ga, the login marker,
    /// then a shell on the serial console (the tests drive faults through it).
    public static let initScript = """
        #!/bin/sh
        # hive-health test guest (HealthTestKit.LinuxGuestImage)
        export PATH=/bin:/sbin:/usr/bin:/usr/sbin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        mkdir -p /dev/pts /dev/shm /run /tmp /var/run \(dataMountPoint)
        mount -t devpts devpts /dev/pts
        echo 1 > /proc/sys/kernel/sysrq
        for module in $(cat /etc/modules); do
            insmod /lib/modules/$module.ko || echo "guest: insmod $module failed"
        done
        tries=0
        while [ $tries -lt 100 ] && ! ls /sys/class/virtio-ports/*/name >/dev/null 2>&1; do
            usleep 50000; tries=$((tries + 1))
        done
        mkdir -p /dev/virtio-ports
        for port in /sys/class/virtio-ports/*; do
            [ -r "$port/name" ] && ln -sf "../${port##*/}" "/dev/virtio-ports/$(cat "$port/name")"
        done
        # Kernel info messages (a file system mounted) on the console from here on: few after boot.
        dmesg -n 7
        if [ -b /dev/vda ]; then
            options=errors=remount-ro
            mount -t ext4 -o $options /dev/vda \(dataMountPoint) 2>/dev/null \\
                || { mke2fs -q /dev/vda >/dev/null 2>&1 && mount -t ext4 -o $options /dev/vda \(dataMountPoint); }
        fi
        if [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ]; then
            qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run -f /run/qemu-ga.pid -d
        else
            echo "guest: no guest agent channel"
        fi
        if grep -q '\(hangBootArgument)' /proc/cmdline; then
            echo "guest: boot stops before login (\(hangBootArgument))"
            while true; do sleep 3600; done
        fi
        echo "\(loginMarker)"
        while true; do setsid cttyhack sh; done

        """

    private static func dependency(of package: String, prefix: String) throws -> String {
        for line in try OVSDBFixture.run("apt-cache", ["depends", package]).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("Depends: " + prefix) { return String(text.dropFirst("Depends: ".count)) }
        }
        throw HiveInstanceLauncher.Failure("apt-cache knows no \(prefix)* dependency of \(package) (apt-get update?)")
    }

    private static func candidate(_ package: String) throws -> String {
        for line in try OVSDBFixture.run("apt-cache", ["policy", package]).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("Candidate: "), !text.hasSuffix("(none)") {
                return String(text.dropFirst("Candidate: ".count))
            }
        }
        throw HiveInstanceLauncher.Failure("apt-cache has no candidate for \(package) (apt-get update?)")
    }

    /// FNV-1a, 64 bits, as 16 hex digits: a cache key, not a security boundary.
    static func fnv1a(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return String(format: "%016llx", hash)
    }
}
